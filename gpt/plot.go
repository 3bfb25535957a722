package gpt

import (
	"fmt"
	"math"
	"strings"
)

// Plot area of the loss curve, in SVG user units (pixels).
const (
	plotWidth   = 640
	plotHeight  = 360
	plotLeft    = 56 // room for the loss labels
	plotRight   = 16
	plotTop     = 28
	plotBottom  = 40 // room for the step labels
	plotXTicks  = 5
	plotYTicks  = 5
	trainColour = "#1f77b4"
	rawColour   = "#aec7e8" // the unsmoothed training loss, behind its average
	valColour   = "#ff7f0e"
	// smoothing is the weight of the previous average in the exponential
	// moving average drawn over the noisy per-step training loss.
	smoothing = 0.9
)

// LossCurveSVG draws the training loss per step as a pale line with its
// exponential moving average over it, and the validation loss as a line
// with dots, against the step, as a standalone SVG image. Points
// whose loss is not finite are skipped. An empty history gives an image
// with axes and a note that there is no data yet.
func LossCurveSVG(h LossHistory) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" `+
		`viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotHeight, plotWidth, plotHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotWidth, plotHeight)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">loss (nats per token) by step</text>`+
		"\n", plotLeft)

	minStep, maxStep := math.MaxInt, math.MinInt
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, series := range [][]LossPoint{h.Train, h.Val} {
		for _, p := range series {
			if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) {
				continue
			}
			minStep, maxStep = min(minStep, p.Step), max(maxStep, p.Step)
			lo, hi = math.Min(lo, p.Loss), math.Max(hi, p.Loss)
		}
	}
	x0, y0 := float64(plotLeft), float64(plotHeight-plotBottom)
	w, ht := float64(plotWidth-plotLeft-plotRight), float64(plotHeight-plotTop-plotBottom)
	fmt.Fprintf(&b, `<path d="M%g %g V%g H%g" fill="none" stroke="black"/>`+"\n",
		x0, float64(plotTop), y0, x0+w)
	if minStep > maxStep {
		fmt.Fprintf(&b, `<text x="%g" y="%g">no losses recorded yet</text>`+"\n",
			x0+w/3, y0-ht/2)
		b.WriteString("</svg>\n")
		return b.String()
	}
	if maxStep == minStep {
		maxStep = minStep + 1
	}
	if hi-lo < 1e-6 {
		lo, hi = lo-0.5, hi+0.5
	}
	px := func(step int) float64 { return x0 + w*float64(step-minStep)/float64(maxStep-minStep) }
	py := func(loss float64) float64 { return y0 - ht*(loss-lo)/(hi-lo) }

	for i := 0; i <= plotXTicks; i++ {
		step := minStep + (maxStep-minStep)*i/plotXTicks
		x := px(step)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#ddd"/>`+
			`<text x="%.1f" y="%g" text-anchor="middle">%d</text>`+"\n",
			x, float64(plotTop), x, y0, x, y0+16, step)
	}
	for i := 0; i <= plotYTicks; i++ {
		loss := lo + (hi-lo)*float64(i)/plotYTicks
		y := py(loss)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+
			`<text x="%g" y="%.1f" text-anchor="end">%.2f</text>`+"\n",
			x0, y, x0+w, y, x0-6, y+4, loss)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%d" text-anchor="middle">step</text>`+"\n",
		x0+w/2, plotHeight-6)

	writeSeries(&b, h.Train, px, py, rawColour, false)
	writeSeries(&b, movingAverage(h.Train), px, py, trainColour, false)
	writeSeries(&b, h.Val, px, py, valColour, true)

	fmt.Fprintf(&b, `<rect x="%g" y="%d" width="10" height="10" fill="%s"/>`+
		`<text x="%g" y="%d">train</text>`+"\n", x0+w-150, plotTop, trainColour, x0+w-136,
		plotTop+10)
	fmt.Fprintf(&b, `<rect x="%g" y="%d" width="10" height="10" fill="%s"/>`+
		`<text x="%g" y="%d">validation</text>`+"\n", x0+w-90, plotTop, valColour, x0+w-76,
		plotTop+10)
	b.WriteString("</svg>\n")
	return b.String()
}

// movingAverage returns the exponential moving average of the finite
// losses of pts, which starts at the first of them.
func movingAverage(pts []LossPoint) []LossPoint {
	out := make([]LossPoint, 0, len(pts))
	avg := math.NaN()
	for _, p := range pts {
		if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) {
			continue
		}
		if math.IsNaN(avg) {
			avg = p.Loss
		} else {
			avg = smoothing*avg + (1-smoothing)*p.Loss
		}
		out = append(out, LossPoint{Step: p.Step, Loss: avg})
	}
	return out
}

func writeSeries(b *strings.Builder, pts []LossPoint, px func(int) float64,
	py func(float64) float64, colour string, dots bool) {
	var path strings.Builder
	for _, p := range pts {
		if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) {
			continue
		}
		cmd := "L"
		if path.Len() == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, px(p.Step), py(p.Loss))
		if dots {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n",
				px(p.Step), py(p.Loss), colour)
		}
	}
	if path.Len() > 0 {
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n",
			strings.TrimSpace(path.String()), colour)
	}
}
