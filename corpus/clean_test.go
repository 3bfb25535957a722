package corpus

import (
	"math"
	"testing"
)

func TestClean(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"html tags and entities", "<p>你好&nbsp;世界</p>第二行&amp;", "你好 世界\n第二行&"},
		{"br then paragraph end", "甲<br/></p>乙", "甲\n\n乙"},
		{"script and comment", "前<script>alert(1)</script>中<!-- x -->后", "前中后"},
		{"escaped tags", "&lt;p&gt;你好&lt;br/&gt;世界&lt;/p&gt; 3 &lt; 5", "你好\n世界\n3 < 5"},
		{"control and zero-width", "矿\x00泉\u200b水\ufeff\x07", "矿泉水"},
		{"whitespace runs", "  家人们 \t\u3000 谁懂啊  ", "家人们 谁懂啊"},
		{"crlf and blank lines", "一\r\n\r\n\r\n\r\n二\r三", "一\n\n二\n三"},
		{"NFC composes", "Cafe\u0301", "Café"},
		{"angle bracket that is not a tag", "3 < 5 且 <<标题>>", "3 < 5 且 <<标题>>"},
		{"only whitespace", " \n\t\n ", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Clean(c.in); got != c.want {
				t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestHanRatio(t *testing.T) {
	cases := []struct {
		in   string
		want float64
	}{
		{"你好", 1},
		{"你好ab", 0.5},     // 2 Han of 4
		{"你 好！", 2.0 / 3}, // the space is not counted, the ！ is
		{"abc", 0},
		{"", 0},
	}
	for _, c := range cases {
		if got := HanRatio(c.in); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("HanRatio(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestFilterCheck(t *testing.T) {
	f := Filter{MinChars: 4, MinHanRatio: 0.5}
	cases := []struct {
		in   string
		want Reason
	}{
		{"一二三", TooShort},
		{"一二三四", Kept},
		{"一二abc", LowHanRatio}, // 2 of 5 Han
		{"一二三ab", Kept},        // 3 of 5 Han
	}
	for _, c := range cases {
		if got := f.Check(c.in); got != c.want {
			t.Errorf("Check(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestChunkCutsAtLineEnds(t *testing.T) {
	text := "一二三\n四五六\n七八九"
	// A line and its newline are 4 runes, so two lines never fit in 6.
	got := Chunk(text, 6)
	want := []string{"一二三", "四五六", "七八九"}
	if len(got) != len(want) {
		t.Fatalf("Chunk = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("chunk %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestChunkCutsLongLinesAtSentences(t *testing.T) {
	got := Chunk("甲乙。丙丁！戊己庚辛壬癸", 4)
	want := []string{"甲乙。", "丙丁！", "戊己庚辛", "壬癸"}
	if len(got) != len(want) {
		t.Fatalf("Chunk = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("chunk %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestChunkKeepsShortText(t *testing.T) {
	if got := Chunk("短文本", 10); len(got) != 1 || got[0] != "短文本" {
		t.Errorf("Chunk = %q, want the text whole", got)
	}
	if got := Chunk("", 10); len(got) != 0 {
		t.Errorf("Chunk of empty text = %q, want none", got)
	}
}

func TestReportSummary(t *testing.T) {
	r := Report{Read: 6, Kept: 2, Drops: []Drop{
		{Reason: TooShort}, {Reason: ExactDuplicate}, {Reason: NearDuplicate},
		{Reason: ExactDuplicate},
	}}
	want := "kept 2 of 6 documents; dropped 2 exact duplicates, 1 near duplicate, 1 too short"
	if got := r.Summary(); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if got := (Report{Read: 1, Kept: 1}).Summary(); got != "kept 1 of 1 documents" {
		t.Errorf("Summary = %q, want %q", got, "kept 1 of 1 documents")
	}
}
