package gpt

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

func TestMovingAverageByHand(t *testing.T) {
	pts := []LossPoint{{1, 10, 0}, {2, math.NaN(), 0}, {3, 0, 0}, {4, 5, 0}}
	got := movingAverage(pts)
	// 10, then 0.9·10 + 0.1·0 = 9, then 0.9·9 + 0.1·5 = 8.6; NaN is skipped.
	want := []LossPoint{{1, 10, 0}, {3, 9, 0}, {4, 8.6, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Step != want[i].Step || math.Abs(got[i].Loss-want[i].Loss) > 1e-12 {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestLossCurveSVGIsWellFormed(t *testing.T) {
	h := LossHistory{
		Train: []LossPoint{{Step: 1, Loss: 8}, {Step: 2, Loss: 7}, {Step: 3, Loss: math.Inf(1)}},
		Val:   []LossPoint{{Step: 2, Loss: 7.5, BPB: 3}},
	}
	for name, svg := range map[string]string{"history": LossCurveSVG(h),
		"empty": LossCurveSVG(LossHistory{})} {
		dec := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := dec.Token()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Errorf("%s: SVG is not well-formed XML: %v", name, err)
				}
				break
			}
		}
	}
	svg := LossCurveSVG(h)
	// Raw and averaged training lines, the validation line and its dot.
	if n := strings.Count(svg, "<path d=\"M"); n != 4 {
		t.Errorf("%d paths, want 4 (axes, raw, average, validation)", n)
	}
	if n := strings.Count(svg, "<circle"); n != 1 {
		t.Errorf("%d validation dots, want 1", n)
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Error("the infinite loss leaked into the drawing")
	}
	if !strings.Contains(LossCurveSVG(LossHistory{}), "no losses recorded yet") {
		t.Error("an empty history does not say that it has no data")
	}
}
