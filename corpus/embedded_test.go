package corpus

import (
	"strings"
	"testing"
)

func TestEmbeddedHasBothSources(t *testing.T) {
	c, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, d := range c.Docs {
		counts[d.Source]++
	}
	if counts[CopypastaSource] == 0 {
		t.Errorf("no documents from %q", CopypastaSource)
	}
	if counts[ClassicalSource] < 30000 {
		t.Errorf("%d documents from %q, want the whole generated set (over 30000)",
			counts[ClassicalSource], ClassicalSource)
	}
	if len(counts) != 2 {
		t.Errorf("sources used = %v, want exactly the two embedded ones", counts)
	}
}

func TestEmbeddedStylesAndIDs(t *testing.T) {
	c, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	styles := strings.Join(c.Styles(), " ")
	for _, want := range []string{"抽象", "宋词", "元曲", "诗经", "论语", "楚辞", "蒙学", "四书", "花间集"} {
		if !strings.Contains(styles, want) {
			t.Errorf("styles %q lack %q", styles, want)
		}
	}
	seen := map[string]bool{}
	for _, d := range c.Docs {
		if d.Style == "" {
			t.Fatalf("document %s has no style tag", d.ID)
		}
		if seen[d.ID] {
			t.Fatalf("document ID %s appears twice", d.ID)
		}
		seen[d.ID] = true
		if strings.ContainsAny(d.Text, "□●") {
			t.Fatalf("document %s contains a missing-glyph mark", d.ID)
		}
	}
}

func TestEmbeddedReturnsIndependentCopies(t *testing.T) {
	a, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	a.Docs[0].Text = "changed"
	a.Sources[0].Name = "changed"
	b, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if b.Docs[0].Text == "changed" || b.Sources[0].Name == "changed" {
		t.Error("a caller's change to one Embedded corpus leaked into the next")
	}
}

func TestEmbeddedCreditsListBothLicences(t *testing.T) {
	c, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	md := c.CreditsMarkdown()
	for _, want := range []string{
		"## Licence: MIT",
		"**" + CopypastaSource + "**",
		"**" + ClassicalSource + "**",
		"https://github.com/chinese-poetry/chinese-poetry",
		"Copyright (c) 2016 JackeyGao",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("credits lack %q:\n%s", want, md)
		}
	}
}

// The copypasta must be varied rather than templated: at least 800 pieces
// and 200 KB, and the near-duplicate detector must keep 95% of them.
func TestEmbeddedCopypastaSizeAndVariety(t *testing.T) {
	recs := CopypastaRecords()
	size := 0
	for _, r := range recs {
		size += len(strings.TrimSpace(r.Text))
	}
	rep, err := EmbeddedCopypastaReport()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copypasta: %d pieces, %d bytes, %s", len(recs), size, rep.Summary())
	if len(recs) < 800 {
		t.Errorf("%d copypasta pieces, want at least 800", len(recs))
	}
	if size < 200_000 {
		t.Errorf("%d bytes of copypasta, want at least 200000", size)
	}
	if rep.Read != len(recs) {
		t.Errorf("report read %d documents from %d pieces; a piece was chunked or lost",
			rep.Read, len(recs))
	}
	if float64(rep.Kept) < 0.95*float64(len(recs)) {
		t.Errorf("dedup kept %d of %d pieces, want at least 95%%; dropped: %v",
			rep.Kept, len(recs), rep.Drops)
	}
}
