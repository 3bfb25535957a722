package corpus

import (
	"strings"
	"testing"
	"unicode"
)

// naiveJaccard computes the Jaccard similarity of the 5-rune shingle sets
// of two texts with string sets, independently of Shingles and Jaccard.
func naiveJaccard(a, b string) float64 {
	set := func(s string) map[string]bool {
		var rs []rune
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsNumber(r) {
				rs = append(rs, r)
			}
		}
		m := map[string]bool{}
		for i := 0; i+5 <= len(rs); i++ {
			m[string(rs[i:i+5])] = true
		}
		return m
	}
	sa, sb := set(a), set(b)
	inter := 0
	for k := range sa {
		if sb[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(sa)+len(sb)-inter)
}

const base = "今天我终于走进了传说中的矿泉水精品店，门口的保安先生为我拉开玻璃门的那一刻，" +
	"空调的冷风扑面而来，我差点当场落泪。导购小姐戴着白手套，轻声问我今天想品鉴哪一座山的眼泪。" +
	"我强装镇定，指了指货架最下层那瓶标价三块五的，她微微一笑，说这款是入门级，很适合初次来访的客人。"

const other = "同事在群里回了一个收到，就两个字，没有句号，没有表情，没有好的呢，没有辛苦啦。" +
	"我盯着这两个字看了四十分钟，从字体看到间距，从间距看到他的头像，他是不是对我有意见。"

func TestJaccardByHand(t *testing.T) {
	// {1,2,3} and {2,3,4} share 2 of 4 distinct values.
	if got := Jaccard([]uint64{1, 2, 3}, []uint64{2, 3, 4}); got != 0.5 {
		t.Errorf("Jaccard = %v, want 0.5", got)
	}
	if got := Jaccard(nil, nil); got != 1 {
		t.Errorf("Jaccard of two empty sets = %v, want 1", got)
	}
}

func TestShinglesIgnorePunctuation(t *testing.T) {
	a := Shingles("甲乙丙丁戊己")
	b := Shingles("甲乙，丙丁 戊己！")
	if len(a) != 2 {
		t.Errorf("6 characters gave %d shingles, want 2", len(a))
	}
	if Jaccard(a, b) != 1 {
		t.Errorf("texts differing in punctuation have Jaccard %v, want 1", Jaccard(a, b))
	}
	if n := len(Shingles("甲乙")); n != 1 {
		t.Errorf("a 2-character text gave %d shingles, want 1", n)
	}
}

func TestShinglesMatchNaiveJaccard(t *testing.T) {
	edited := strings.Replace(base, "三块五", "五块三", 1)
	got := Jaccard(Shingles(base), Shingles(edited))
	want := naiveJaccard(base, edited)
	if got != want {
		t.Errorf("Jaccard = %v, naive = %v", got, want)
	}
}

func TestDeduperExactAndNear(t *testing.T) {
	// One changed clause keeps most shingles: the pair is a near duplicate.
	near := strings.Replace(base, "三块五", "五块三", 1)
	if j := naiveJaccard(base, near); j < DefaultNearThreshold {
		t.Fatalf("test texts have Jaccard %v, below the threshold", j)
	}
	// Three words swapped and the punctuation changed in places.
	edits := strings.NewReplacer("终于", "总算", "白手套", "黑手套", "微微一笑", "笑了笑",
		"，", " ", "。", "！").Replace(base)
	if j := naiveJaccard(base, edits); j < DefaultNearThreshold {
		t.Fatalf("test texts have Jaccard %v, below the threshold", j)
	}
	// Half of the text replaced: not a near duplicate.
	half := base[:len(base)/2] + other
	if j := naiveJaccard(base, half); j >= DefaultNearThreshold {
		t.Fatalf("test texts have Jaccard %v, at or above the threshold", j)
	}

	d := NewDeduper(DefaultNearThreshold)
	steps := []struct {
		name, text string
		want       Reason
	}{
		{"first", base, Kept},
		{"same text", base, ExactDuplicate},
		{"one clause changed", near, NearDuplicate},
		{"three words and punctuation changed", edits, NearDuplicate},
		{"unrelated", other, Kept},
		{"half shared", half, Kept},
	}
	for _, s := range steps {
		if got := d.Add(TextID(s.text), s.text); got != s.want {
			t.Errorf("%s: Add = %q, want %q", s.name, got, s.want)
		}
	}
}

func TestDeduperThresholdAboveOneKeepsNear(t *testing.T) {
	d := NewDeduper(1.1)
	near := strings.Replace(base, "三块五", "五块三", 1)
	d.Add(TextID(base), base)
	if got := d.Add(TextID(near), near); got != Kept {
		t.Errorf("Add = %q, want Kept with near-duplicate detection off", got)
	}
	if got := d.Add(TextID(base), base); got != ExactDuplicate {
		t.Errorf("Add = %q, want exact duplicates still dropped", got)
	}
}

func TestDeduperZeroThresholdIsDefault(t *testing.T) {
	d := NewDeduper(0)
	half := base[:len(base)/2] + other
	d.Add(TextID(base), base)
	if got := d.Add(TextID(half), half); got != Kept {
		t.Errorf("Add = %q, want Kept: a zero threshold must not drop partly similar text", got)
	}
}

func TestTextIDIsSHA256(t *testing.T) {
	// SHA-256 of "abc" from FIPS 180-2, appendix B.1.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := TextID("abc"); got != want {
		t.Errorf("TextID = %s, want %s", got, want)
	}
}
