package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func texts(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = Clean(r.Text)
	}
	return out
}

func assertTexts(t *testing.T, recs []Record, want ...string) {
	t.Helper()
	got := texts(recs)
	if len(got) != len(want) {
		t.Fatalf("got %d records %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestParseTextSplitsAtSeparators(t *testing.T) {
	in := "第一篇\n第二行\n===\n第二篇\n  ===  \n\n===\n第三篇"
	recs := ParseText("a.txt", in)
	assertTexts(t, recs, "第一篇\n第二行", "第二篇", "第三篇")
	if recs[2].Origin != "a.txt#3" {
		t.Errorf("origin = %q, want a.txt#3", recs[2].Origin)
	}
}

func TestParseTextWithoutSeparatorIsOneRecord(t *testing.T) {
	assertTexts(t, ParseText("a.txt", "一行\n\n两行"), "一行\n\n两行")
}

func TestParseMarkdownStripsSyntax(t *testing.T) {
	in := "---\ntitle: 测试\n---\n# 标题\n\n**加粗**和[链接](https://example.com)" +
		"![图](a.png)\n\n```go\ncode()\n```\n> 引用\n- 列表\n1. 编号"
	assertTexts(t, ParseMarkdown("a.md", in), "标题\n\n加粗和链接\n\n引用\n列表\n编号")
}

func TestParseMarkdownStripsBlocks(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"closing heading hashes", "## 标题 ##\n正文", "标题\n正文"},
		{"table", "| 列一 | 列二 |\n|:---|---:|\n| 甲 | 乙 |\n", "列一 列二\n甲 乙"},
		{"nested lists", "* 一级\n  * 二级\n    1. 三级", "一级\n二级\n三级"},
		{"nested quotes", "> 引用\n> > 嵌套引用\n> - 列表", "引用\n嵌套引用\n列表"},
		{"emphasis pairs only", "***粗斜体***、__粗__、~~删除~~和`代码`，但 5*3=15 且 a_b",
			"粗斜体、粗、删除和代码，但 5*3=15 且 a_b"},
		{"reference link", "[参考链接][1]和[另一个][]\n\n[1]: https://example.com \"题\"",
			"参考链接和另一个"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertTexts(t, ParseMarkdown("a.md", c.in), c.want)
		})
	}
}

func TestParseMarkdownPieces(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"thematic breaks split", "甲篇\n\n---\n乙篇\n\n* * *\n丙篇\n___\n丁篇",
			[]string{"甲篇", "乙篇", "丙篇", "丁篇"}},
		{"setext underlines do not split", "大标题\n===\n正文一\n\n小标题\n---\n正文二",
			[]string{"大标题\n正文一\n\n小标题\n正文二"}},
		{"separator after blank line splits", "甲篇\n\n===\n乙篇",
			[]string{"甲篇", "乙篇"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertTexts(t, ParseMarkdown("a.md", c.in), c.want...)
		})
	}
}

func TestParseJSONLines(t *testing.T) {
	in := `{"text": "第一条", "style": "抽象"}

{"content": "第二条", "title": "标题"}
`
	recs, err := ParseJSONLines("a.jsonl", in)
	if err != nil {
		t.Fatal(err)
	}
	assertTexts(t, recs, "第一条", "标题\n第二条")
	if recs[0].Style != "抽象" {
		t.Errorf("style = %q, want 抽象", recs[0].Style)
	}
	if recs[1].Origin != "a.jsonl:3" {
		t.Errorf("origin = %q, want a.jsonl:3 (blank lines count)", recs[1].Origin)
	}
}

func TestParseJSONLinesErrorsNameTheLine(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"invalid JSON", "{\"text\": \"好\"}\n{oops", "a.jsonl:2: invalid JSON"},
		{"missing text", "{\"title\": \"好\"}", "a.jsonl:1: missing \"text\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseJSONLines("a.jsonl", c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// Each case copies the record layout of one chinese-poetry folder.
func TestParsePoetryJSONLayouts(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"songci", `[{"author": "范成大", "paragraphs": ["白玉堂前绿绮疏。", "烛残歌罢困相扶。"],
			"rhythmic": "浣溪沙"}]`,
			[]string{"浣溪沙\n范成大\n白玉堂前绿绮疏。\n烛残歌罢困相扶。"}},
		{"shijing", `[{"title": "关雎", "chapter": "国风", "section": "周南",
			"content": ["关关雎鸠，在河之洲。"]}]`,
			[]string{"关雎\n关关雎鸠，在河之洲。"}},
		{"lunyu", `[{"chapter": "学而篇", "paragraphs": ["子曰：学而时习之。"]}]`,
			[]string{"学而篇\n子曰：学而时习之。"}},
		{"nalanxingde", `[{"title": "长相思", "para": ["山一程，水一程"], "author": "纳兰性德"}]`,
			[]string{"长相思\n纳兰性德\n山一程，水一程"}},
		{"youmengying", `[{"content": "读经宜冬，其神专也。", "comment": ["某曰：可想见。"]}]`,
			[]string{"读经宜冬，其神专也。"}},
		{"huajianji notes skipped", `[{"rhythmic": "菩萨蛮", "title": "菩萨蛮 其一",
			"notes": ["1.小山--眉样。"], "paragraphs": ["小山重叠金明灭。"], "author": "温庭筠"}]`,
			[]string{"菩萨蛮 其一\n温庭筠\n小山重叠金明灭。"}},
		{"guwenguanzhi nested", `{"title": "古文觀止", "abstract": ["選本。"], "content": [
			{"title": "卷一", "content": [
				{"chapter": "鄭伯克段於鄢", "author": "左丘明", "paragraphs": ["初，鄭武公娶於申。"]},
				{"chapter": "周鄭交質", "paragraphs": ["鄭武公、莊公爲平王卿士。"]}]}]}`,
			[]string{"鄭伯克段於鄢\n左丘明\n初，鄭武公娶於申。", "周鄭交質\n鄭武公、莊公爲平王卿士。"}},
		{"long author is a biography", `{"title": "文字蒙求", "author": "` +
			strings.Repeat("王筠字貫山號菉友", 4) + `", "paragraphs": ["象形"]}`,
			[]string{"文字蒙求\n象形"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, err := ParsePoetryJSON("p.json", c.in)
			if err != nil {
				t.Fatal(err)
			}
			assertTexts(t, recs, c.want...)
		})
	}
}

func TestParsePoetryJSONRejectsOtherJSON(t *testing.T) {
	for _, in := range []string{`{"name": "李璟", "desc": "南唐中主"}`, `[1, 2]`, `{`} {
		if _, err := ParsePoetryJSON("p.json", in); err == nil {
			t.Errorf("ParsePoetryJSON(%s) returned no error", in)
		}
	}
}

func TestReadFileOtherExtensionIsText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "novel.log")
	if err := os.WriteFile(path, []byte("第一章\n===\n第二章"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, _, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	assertTexts(t, recs, "第一章", "第二章")
}

func TestReadFileBinaryIsDecodeError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "image.png")
	// 0xFF starts no character in UTF-8, GB18030 or Big5.
	if err := os.WriteFile(path, []byte{0x89, 'P', 'N', 'G', 0xff, 0xff}, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), "image.png") {
		t.Errorf("err = %v, want a decode error naming image.png", err)
	}
}
