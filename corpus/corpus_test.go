package corpus

import (
	"fmt"
	"strings"
	"testing"
)

func TestIsValidationByHand(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		// 0x31 = 49 and 0x32 = 50; validation takes residues 0..49 mod 1000.
		{"0000000000000031" + strings.Repeat("0", 48), true},
		{"0000000000000032" + strings.Repeat("0", 48), false},
		// TextID("abc") starts ba7816bf8f01cfea, which is 74 mod 1000.
		{TextID("abc"), false},
	}
	for _, c := range cases {
		if got := IsValidation(c.id); got != c.want {
			t.Errorf("IsValidation(%s) = %v, want %v", c.id[:16], got, c.want)
		}
	}
}

func manyDocs(from, to int) []Document {
	var docs []Document
	for i := from; i < to; i++ {
		text := fmt.Sprintf("文档%d", i)
		docs = append(docs, Document{ID: TextID(text), Text: text, Source: "s"})
	}
	return docs
}

func TestSplitShareAndStability(t *testing.T) {
	c := &Corpus{Docs: manyDocs(0, 4000)}
	train, val := c.Split()
	if len(train)+len(val) != 4000 {
		t.Fatalf("split lost documents: %d + %d", len(train), len(val))
	}
	// 5% of 4000 is 200 with a binomial standard deviation near 14.
	if len(val) < 140 || len(val) > 260 {
		t.Errorf("%d validation documents of 4000, want about 200", len(val))
	}

	inVal := map[string]bool{}
	for _, d := range val {
		inVal[d.ID] = true
	}
	bigger := &Corpus{Docs: append(manyDocs(4000, 6000), c.Docs...)}
	train2, val2 := bigger.Split()
	inVal2 := map[string]bool{}
	for _, d := range val2 {
		inVal2[d.ID] = true
	}
	for _, d := range c.Docs {
		if inVal[d.ID] != inVal2[d.ID] {
			t.Fatalf("document %s moved between splits when documents were added", d.Text)
		}
	}
	if len(train2)+len(val2) != 6000 {
		t.Errorf("bigger split has %d documents, want 6000", len(train2)+len(val2))
	}
}

func TestStylesSortedAndDistinct(t *testing.T) {
	c := &Corpus{Docs: []Document{{Style: "宋词"}, {Style: "抽象"}, {Style: ""}, {Style: "宋词"}}}
	got := strings.Join(c.Styles(), ",")
	// Go sorts strings by bytes: 宋 is U+5B8B and 抽 is U+62BD.
	if got != "宋词,抽象" {
		t.Errorf("Styles = %q, want 宋词,抽象", got)
	}
}

func TestCreditsListEverySourceOnce(t *testing.T) {
	c := &Corpus{Sources: []Source{
		{Name: "b-novel", License: "CC-BY-4.0", Author: "作者乙", URL: "https://b.example"},
		{Name: "a-poems", License: "MIT", Notice: "Copyright (c) 2016 Someone"},
		{Name: "saved", License: ""},
		{Name: "a-poems", License: "MIT"},
		{Name: "c-essays", License: "CC-BY-4.0"},
	}}
	md := c.CreditsMarkdown()
	want := `# Data sources

## Licence: CC-BY-4.0

- **b-novel** by 作者乙, <https://b.example>
- **c-essays**

## Licence: MIT

- **a-poems**
  > Copyright (c) 2016 Someone

## Licence: unknown

- **saved**
`
	if md != want {
		t.Errorf("credits:\n%s\nwant:\n%s", md, want)
	}
}

func TestStatsFigures(t *testing.T) {
	c := &Corpus{Docs: []Document{
		{ID: TextID("甲"), Text: "你好 ab", Source: "x", Style: "抽象"},
		{ID: TextID("乙"), Text: "春眠不觉晓", Source: "y", Style: "唐诗"},
		{ID: TextID("丙"), Text: "嗯", Source: "x", Style: "抽象"},
	}}
	st := c.Stats()
	// Characters: 5 + 5 + 1 = 11 with one space, of which Han: 2 + 5 + 1 = 8.
	if st.Docs != 3 || st.Chars != 11 || st.HanChars != 8 || st.Spaces != 1 {
		t.Errorf("docs %d chars %d han %d spaces %d, want 3, 11, 8, 1",
			st.Docs, st.Chars, st.HanChars, st.Spaces)
	}
	if st.Bytes != 9+15+3 {
		t.Errorf("bytes = %d, want 27", st.Bytes)
	}
	if st.HanRatio() != 0.8 {
		t.Errorf("Han ratio = %v, want 8/10", st.HanRatio())
	}
	// x has 6 characters and y 5, so x comes first.
	want := []Share{{Name: "x", Docs: 2, Chars: 6}, {Name: "y", Docs: 1, Chars: 5}}
	if len(st.BySource) != 2 || st.BySource[0] != want[0] || st.BySource[1] != want[1] {
		t.Errorf("by source = %+v, want %+v", st.BySource, want)
	}
	if st.TrainDocs+st.ValDocs != 3 {
		t.Errorf("train %d + val %d, want 3", st.TrainDocs, st.ValDocs)
	}
}

func TestValidateStyle(t *testing.T) {
	valid := []string{"", "抽象", "宋词", "copypasta-2024", strings.Repeat("字", MaxStyleChars)}
	for _, ok := range valid {
		if err := ValidateStyle(ok); err != nil {
			t.Errorf("ValidateStyle(%q) = %v, want nil", ok, err)
		}
	}
	cases := []struct{ style, rule string }{
		{"x<|endoftext|>", `"<|" or "|>"`},
		{"bad style|>", `"<|" or "|>"`},
		{"<|抽象", `"<|" or "|>"`},
		{"two words", "whitespace or a control character (U+0020)"},
		{"tab\there", "(U+0009)"},
		{"抽象\n", "(U+000A)"},
		{"nul\x00", "(U+0000)"},
		{"bad\xff", "not valid UTF-8"},
		{strings.Repeat("字", MaxStyleChars+1), "is 33 characters long; use at most 32"},
	}
	for _, c := range cases {
		err := ValidateStyle(c.style)
		if err == nil {
			t.Errorf("ValidateStyle(%q) = nil, want an error", c.style)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", c.style)) ||
			!strings.Contains(err.Error(), c.rule) {
			t.Errorf("ValidateStyle(%q) = %q, want the value and %q", c.style, err, c.rule)
		}
	}
}
