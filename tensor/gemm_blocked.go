package tensor

import (
	"math"
	"sync/atomic"
)

// The packed, cache-blocked product in the BLIS style. For each column
// block of op(B) (at most nc columns) and each kc-deep slice of k, the slice
// of op(B) is packed once into nr-wide micro-panels (kc, nr), shared by all
// workers. The rows of op(A) are split into blocks of at most about mc
// rows. Each task packs its rows of the slice into mr-tall micro-panels
// (kc, mr) and runs the microkernel over every (mr, nr) tile, B micro-panel
// outer, so that it stays in L1 while the packed A block streams from L2.
// Every row block reads the packed B slice, kc×nc floats (1 MiB with the
// AVX-512 sizes), from L2 or L3.

// gemmSlice is one kc-deep slice of one column block of a blocked
// product: what its packing and its tasks need.
type gemmSlice struct {
	ks             *kernelSet
	plan           taskPlan
	transA, transB bool
	a, b, bp, c    []float32
	lda, ldb, ldc  int
	m, n, jc, pc   int
	kb, panels     int
	alpha, beta    float32
}

// edgeLen is the size of the scratch tile for tiles that stick out of C,
// large enough for every kernel set's mr×nr.
const edgeLen = 16 * 64

// gemmBlocked computes C = alpha*op(A)*op(B) + beta*C with k > 0.
func gemmBlocked(ks *kernelSet, par bool, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	nr := ks.nr
	workers := 1
	if par {
		workers = Workers()
	}
	var t taskArgs
	g := &t.g
	*g = gemmSlice{ks: ks, transA: transA, transB: transB, a: a, b: b, c: c,
		lda: lda, ldb: ldb, ldc: ldc, m: m, n: n, alpha: alpha}
	if n <= ks.nc && k > ks.kc && m > ks.mc*workers && k*roundUp(n, nr) <= deepMaxB {
		gemmDeep(&t, k, beta, workers)
		return
	}
	ncMax := min(ks.nc, n)
	bbuf := getBuf(roundUp(ncMax, nr) * min(ks.kc, k))
	defer putBuf(bbuf)
	for jc := 0; jc < n; jc += ks.nc {
		nb := min(ks.nc, n-jc)
		g.jc, g.panels = jc, (nb+nr-1)/nr
		g.plan = planTasks(m, g.panels, ks.mr, ks.mc, workers)
		for pc := 0; pc < k; pc += ks.kc {
			g.pc, g.kb = pc, min(ks.kc, k-pc)
			g.beta = beta
			if pc > 0 {
				g.beta = 1
			}
			g.bp = (*bbuf)[:g.panels*nr*g.kb]
			packBSlice(&t, workers)
			if g.plan.tasks > 1 {
				parallelTask(g.plan.tasks, 1, gemmTasks, &t)
			} else {
				gemmTasks(t, 0, 1)
			}
		}
	}
}

// deepMaxB is the largest packed op(B), in floats, that gemmDeep packs
// whole: 4 MiB.
const deepMaxB = 1 << 20

// gemmDeep is gemmBlocked for a narrow op(B) (one column block) and a long
// k, with more rows than one block per worker: a weight gradient such as
// dYᵀ·X with C (4096, 256) and k = 2048. It packs every kc slice of op(B)
// up front, then each row block runs all the slices in turn, so that its
// block of C stays in L2 across slices. Slice by slice, every slice would
// read and write all of C, 4 MiB here, from L3 or memory again.
func gemmDeep(t *taskArgs, k int, beta float32, workers int) {
	g := &t.g
	ks, nr := g.ks, g.ks.nr
	g.jc, g.panels = 0, (g.n+nr-1)/nr
	width := g.panels * nr
	bbuf := getBuf(width * k)
	for pc := 0; pc < k; pc += ks.kc {
		g.pc, g.kb = pc, min(ks.kc, k-pc)
		g.bp = (*bbuf)[width*pc : width*(pc+g.kb)]
		packBSlice(t, workers)
	}
	g.bp, g.beta, g.kb = (*bbuf)[:width*k], beta, k
	mc := ks.mc
	if g.transA {
		// Row blocks 4 times as tall read each row of a transposed A in runs
		// 4 times as long (3 KiB with the AVX-512 sizes), a quarter as many
		// runs 16 KiB apart for lda = 4096. With C (4096, 256) and k = 2048
		// this ran 10% faster than mc, though the block of C no longer fits
		// in L2.
		mc = 4 * ks.mc
	}
	g.plan = planTasks(g.m, g.panels, ks.mr, mc, workers)
	if g.plan.tasks > 1 {
		parallelTask(g.plan.tasks, 1, gemmDeepTasks, t)
	} else {
		gemmDeepTasks(*t, 0, 1)
	}
	putBuf(bbuf)
}

// gemmDeepTasks runs tasks [lo, hi) of gemmDeep: t.g.bp holds all of
// op(B), slice pc at width*pc, and t.g.kb is the whole k.
func gemmDeepTasks(t taskArgs, lo, hi int) {
	g := &t.g
	ks, mr, kc := g.ks, g.ks.mr, g.ks.kc
	k, width := g.kb, g.panels*ks.nr
	abuf := getBuf(g.plan.maxRows*kc + edgeLen)
	edge := (*abuf)[g.plan.maxRows*kc:][:edgeLen]
	for x := lo; x < hi; x++ {
		i0, i1, q0, q1 := g.plan.task(x, g.m, mr, g.panels)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			ap := (*abuf)[:roundUp(i1-i0, mr)*kb]
			packABlock(ks, ap, g.transA, g.a, g.lda, i0, i1-i0, pc, kb)
			macroKernel(ks, ap, g.bp[width*pc:width*(pc+kb)], g.c, edge, g.ldc, i0, i1,
				0, q0, q1, g.n, kb, g.alpha, beta)
		}
	}
	putBuf(abuf)
}

// gemmTasks runs tasks [lo, hi) of the slice t.g: each packs its block of
// op(A) into a buffer of its own and runs the macro-kernel on it.
func gemmTasks(t taskArgs, lo, hi int) {
	g := &t.g
	ks, mr := g.ks, g.ks.mr
	abuf := getBuf(g.plan.maxRows*g.kb + edgeLen)
	edge := (*abuf)[g.plan.maxRows*g.kb:][:edgeLen]
	for x := lo; x < hi; x++ {
		i0, i1, q0, q1 := g.plan.task(x, g.m, mr, g.panels)
		ap := (*abuf)[:roundUp(i1-i0, mr)*g.kb]
		packABlock(ks, ap, g.transA, g.a, g.lda, i0, i1-i0, g.pc, g.kb)
		macroKernel(ks, ap, g.bp, g.c, edge, g.ldc, i0, i1, g.jc, q0, q1, g.n, g.kb,
			g.alpha, g.beta)
	}
	putBuf(abuf)
}

// packGroup is the number of B panels per unit of packing work: 4 panels
// of 32 columns is 128 columns per row, and a 256-column B still splits
// over two workers.
const packGroup = 4

// packBSlice packs rows [pc, pc+kb) and the panels of the column block at
// jc of op(B) into t.g.bp: panel q at q*kb*nr. A unit of work is a group of
// up to packGroup panels.
func packBSlice(t *taskArgs, workers int) {
	g := &t.g
	groups := (g.panels + packGroup - 1) / packGroup
	if workers > 1 {
		// At least 32K floats per range: packing runs at several floats per
		// nanosecond, so a smaller B is not worth a handoff.
		parallelTask(groups, max(1, (1<<15)/(g.kb*packGroup*g.ks.nr)), packBGroups, t)
	} else {
		packBGroups(*t, 0, groups)
	}
}

// packBGroups packs panel groups [lo, hi) of the slice t.g.
func packBGroups(t taskArgs, lo, hi int) {
	g := &t.g
	nr, kb := g.ks.nr, g.kb
	for x := lo; x < hi; x++ {
		q0, q1 := packGroup*x, min(packGroup*(x+1), g.panels)
		if !g.transB {
			packBRows(g.bp, g.b, g.ldb, g.pc, kb, g.jc, g.n, q0, q1, nr)
			continue
		}
		for q := q0; q < q1; q++ {
			j := g.jc + q*nr
			packBPanel(g.ks, g.bp[q*kb*nr:(q+1)*kb*nr], true, g.b, g.ldb, g.pc, kb, j,
				min(nr, g.n-j))
		}
	}
}

// taskPlan splits the (m, panels) grid of one packed block into rowBlocks ×
// colBlocks tasks whose sizes differ by at most one tile.
type taskPlan struct {
	rowBlocks, colBlocks, tasks int
	mtiles                      int
	maxRows                     int // rows of the largest row block, rounded up to mr
}

func planTasks(m, panels, mr, mc, workers int) taskPlan {
	mtiles := (m + mr - 1) / mr
	rb := min((mtiles*mr+mc-1)/mc, mtiles)
	cb := 1
	if workers > 1 {
		// Split rows first: each row block packs its own A, so only a
		// column split packs the same rows twice.
		rb = min(roundUp(rb, workers), mtiles)
		if rb < workers {
			cb = min(panels, (2*workers+rb-1)/rb)
		}
	}
	return taskPlan{
		rowBlocks: rb, colBlocks: cb, tasks: rb * cb, mtiles: mtiles,
		maxRows: ((mtiles + rb - 1) / rb) * mr,
	}
}

// task returns the rows [i0, i1) and B panels [q0, q1) of task t.
func (p taskPlan) task(t, m, mr, panels int) (i0, i1, q0, q1 int) {
	r, cc := t/p.colBlocks, t%p.colBlocks
	i0 = r * p.mtiles / p.rowBlocks * mr
	i1 = min((r+1)*p.mtiles/p.rowBlocks*mr, m)
	q0 = cc * panels / p.colBlocks
	q1 = (cc + 1) * panels / p.colBlocks
	return
}

// macroKernel runs the microkernel over rows [i0, i1) of C and the columns
// of B panels [q0, q1) of the column block that starts at jc. Tiles that
// stick out of C are computed into a scratch tile and merged.
// edge is a scratch tile of edgeLen floats.
func macroKernel(ks *kernelSet, ap, bp, c, edge []float32, ldc, i0, i1, jc, q0, q1, n, kb int,
	alpha, beta float32) {
	mr, nr := ks.mr, ks.nr
	for q := q0; q < q1; q++ {
		bpanel := bp[q*kb*nr:]
		j := jc + q*nr
		w := min(nr, n-j)
		for i := i0; i < i1; i += mr {
			h := min(mr, i1-i)
			apanel := ap[(i-i0)*kb:]
			if h == mr && w == nr {
				ks.micro(kb, &apanel[0], &bpanel[0], &c[i*ldc+j], ldc, alpha, beta)
				continue
			}
			ks.micro(kb, &apanel[0], &bpanel[0], &edge[0], nr, alpha, 0)
			for r := 0; r < h; r++ {
				dst := c[(i+r)*ldc+j : (i+r)*ldc+j+w]
				src := edge[r*nr : r*nr+w]
				if beta == 0 {
					copy(dst, src)
					continue
				}
				for x := range dst {
					dst[x] = src[x] + beta*dst[x]
				}
			}
		}
	}
}

// packABlock packs rows [i0, i0+rows) and columns [p0, p0+kb) of op(A) into
// mr-tall micro-panels: element (i, p) of tile t lands at t*kb*mr + p*mr + i.
// Rows past the end of the block are zero.
func packABlock(ks *kernelSet, dst []float32, transA bool, a []float32, lda, i0, rows, p0,
	kb int) {
	mr := ks.mr
	if transA {
		packABlockTrans(dst, a, lda, i0, rows, p0, kb, mr)
		return
	}
	for t := 0; t*mr < rows; t++ {
		d := dst[t*kb*mr : (t+1)*kb*mr]
		i := i0 + t*mr
		h := min(mr, rows-t*mr)
		if h == mr && packRowsFast(ks, d, a, lda, i, p0, kb) {
			continue
		}
		for r := 0; r < h; r++ {
			src := a[(i+r)*lda+p0 : (i+r)*lda+p0+kb]
			for p, v := range src {
				d[p*mr+r] = v
			}
		}
		for r := h; r < mr; r++ {
			for p := 0; p < kb; p++ {
				d[p*mr+r] = 0
			}
		}
	}
}

// packABlockTrans is packABlock for A stored transposed (k, m): the rows of
// the block are contiguous in each row of A. It walks the rows of A in
// order, each read once as one run of up to mc floats. Going tile by tile
// instead would jump lda floats per step, which for a wide A (a weight
// gradient dYᵀ·X with lda = 4096) misses the TLB on every step.
func packABlockTrans(dst, a []float32, lda, i0, rows, p0, kb, mr int) {
	tiles := (rows + mr - 1) / mr
	full := rows / mr // tiles without padding
	var sink uint32
	for p := 0; p < kb; p++ {
		src := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+rows]
		// Load one float per 64-byte line of the run touchAhead rows on, so
		// the lines are on their way before the copy needs them: the hardware
		// prefetcher does not follow runs 16 KiB apart. This made the lm_head
		// weight gradient (C (4096, 256), k = 2048) 4 to 5% faster.
		if p+touchAhead < kb {
			ahead := a[(p0+p+touchAhead)*lda+i0 : (p0+p+touchAhead)*lda+i0+rows]
			for x := 0; x < rows; x += 16 {
				sink += math.Float32bits(ahead[x])
			}
		}
		t := 0
		// Copies of [4]float32 compile to one 16-byte move each, where copy
		// and longer array copies (48 bytes and up) call memmove for every
		// run of mr floats; that call took a sixth of a TN product with
		// n = 256.
		switch mr {
		case 12:
			for ; t < full; t++ {
				d := dst[t*kb*12+p*12 : t*kb*12+p*12+12 : t*kb*12+p*12+12]
				s := src[t*12 : t*12+12 : t*12+12]
				*(*[4]float32)(d[0:4]) = *(*[4]float32)(s[0:4])
				*(*[4]float32)(d[4:8]) = *(*[4]float32)(s[4:8])
				*(*[4]float32)(d[8:12]) = *(*[4]float32)(s[8:12])
			}
		case 6:
			for ; t < full; t++ {
				d := dst[t*kb*6+p*6 : t*kb*6+p*6+6 : t*kb*6+p*6+6]
				s := src[t*6 : t*6+6 : t*6+6]
				*(*[4]float32)(d[0:4]) = *(*[4]float32)(s[0:4])
				*(*[2]float32)(d[4:6]) = *(*[2]float32)(s[4:6])
			}
		case 4:
			for ; t < full; t++ {
				at := t*kb*mr + p*mr
				*(*[4]float32)(dst[at : at+4]) = *(*[4]float32)(src[t*4 : t*4+4])
			}
		}
		for ; t < tiles; t++ {
			h := min(mr, rows-t*mr)
			row := dst[t*kb*mr+p*mr : t*kb*mr+p*mr+mr]
			copy(row, src[t*mr:t*mr+h])
			clear(row[h:])
		}
	}
	// The sum goes somewhere visible so that the compiler keeps the loads.
	atomic.AddUint32(&touchSink, sink)
}

// touchSink receives the sums of packABlockTrans's look-ahead loads.
var touchSink uint32

// touchAhead is how many rows of A ahead packABlockTrans loads: 4, 8 and 16
// measured the same.
const touchAhead = 4

// packBRows packs panels [q0, q1) of one kc slice of a row-major B (not
// transposed) into dst, the slice's panels laid out as in gemmBlocked. It
// walks the rows of B in order and copies each row's run of columns into
// the panels, so that a B with a large ldb is read row by row.
func packBRows(dst, b []float32, ldb, p0, kb, jc, n, q0, q1, nr int) {
	// Panels [q0, full) have all nr columns. move16 copies with 16-byte
	// vector moves, where copy would call memmove for every run of nr
	// floats.
	full := max(q0, min(q1, (n-jc)/nr))
	for p := 0; p < kb; p++ {
		src := b[(p0+p)*ldb:]
		q := q0
		switch nr {
		case 32:
			for ; q < full; q++ {
				at, j := q*kb*nr+p*nr, jc+q*nr
				move16(dst[at:at+16], src[j:j+16])
				move16(dst[at+16:at+32], src[j+16:j+32])
			}
		case 16:
			for ; q < full; q++ {
				at, j := q*kb*nr+p*nr, jc+q*nr
				move16(dst[at:at+16], src[j:j+16])
			}
		}
		for ; q < q1; q++ {
			j := jc + q*nr
			w := min(nr, n-j)
			row := dst[q*kb*nr+p*nr : q*kb*nr+p*nr+nr]
			copy(row, src[j:j+w])
			clear(row[w:])
		}
	}
}

// packBPanel packs rows [p0, p0+kb) and columns [j, j+w) of op(B) into one
// nr-wide micro-panel: element (p, j+x) lands at p*nr + x. Columns past w
// are zero.
func packBPanel(ks *kernelSet, dst []float32, transB bool, b []float32, ldb, p0, kb, j, w int) {
	nr := ks.nr
	if !transB {
		for p := 0; p < kb; p++ {
			row := dst[p*nr : p*nr+nr]
			copy(row, b[(p0+p)*ldb+j:(p0+p)*ldb+j+w])
			clear(row[w:])
		}
		return
	}
	if w == nr && kb >= 4 && packTransposed(ks, dst, b[j*ldb+p0:], ldb, kb&^3, nr) {
		// The panel is op(B) = Bᵀ: the same transpose as packing A, with
		// the nr rows of B as the rows. Go packs the last kb%4 steps.
		for p := kb &^ 3; p < kb; p++ {
			for x := 0; x < nr; x++ {
				dst[p*nr+x] = b[(j+x)*ldb+p0+p]
			}
		}
		return
	}
	x := 0
	for ; x+4 <= w; x += 4 {
		// Four rows of B at a time, so each step writes 4 contiguous values.
		r0 := b[(j+x)*ldb+p0 : (j+x)*ldb+p0+kb]
		r1 := b[(j+x+1)*ldb+p0 : (j+x+1)*ldb+p0+kb]
		r2 := b[(j+x+2)*ldb+p0 : (j+x+2)*ldb+p0+kb]
		r3 := b[(j+x+3)*ldb+p0 : (j+x+3)*ldb+p0+kb]
		for p := 0; p < kb; p++ {
			o := dst[p*nr+x : p*nr+x+4 : p*nr+x+4]
			o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
	for ; x < w; x++ {
		src := b[(j+x)*ldb+p0 : (j+x)*ldb+p0+kb]
		for p, v := range src {
			dst[p*nr+x] = v
		}
	}
	for x := w; x < nr; x++ {
		for p := 0; p < kb; p++ {
			dst[p*nr+x] = 0
		}
	}
}

// move16 copies 16 floats from s to d in four 16-byte moves. The compiler
// inlines copies of [4]float32, but calls memmove for copy and for array
// copies of 48 bytes and more.
func move16(d, s []float32) {
	dd, ss := (*[16]float32)(d), (*[16]float32)(s)
	*(*[4]float32)(dd[0:4]) = *(*[4]float32)(ss[0:4])
	*(*[4]float32)(dd[4:8]) = *(*[4]float32)(ss[4:8])
	*(*[4]float32)(dd[8:12]) = *(*[4]float32)(ss[8:12])
	*(*[4]float32)(dd[12:16]) = *(*[4]float32)(ss[12:16])
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// packRowsFast packs a full tile of mr rows of A (not transposed). It uses
// the assembly 4×4 transpose where there is one and mr is a multiple of 4.
// Otherwise it reads all rows together, 4 columns at a time, so that every
// store goes to a constant offset in the panel and needs no bounds check.
// It handles the register tiles in use (12 and 6 rows) and returns false
// for others.
func packRowsFast(ks *kernelSet, d, a []float32, lda, i, p0, kb int) bool {
	mr := ks.mr
	row := func(r int) []float32 { return a[(i+r)*lda+p0 : (i+r)*lda+p0+kb] }
	if kb4 := kb &^ 3; kb4 > 0 && packTransposed(ks, d, a[i*lda+p0:], lda, kb4, mr) {
		for p := kb4; p < kb; p++ {
			for r := 0; r < mr; r++ {
				d[p*mr+r] = a[(i+r)*lda+p0+p]
			}
		}
		return true
	}
	switch mr {
	case 12:
		var rows [12][]float32
		for r := range rows {
			rows[r] = row(r)
		}
		p := 0
		for ; p+4 <= kb; p += 4 {
			o := d[p*12 : p*12+48 : p*12+48]
			for r := 0; r < 12; r++ {
				v := rows[r][p : p+4 : p+4]
				o[r], o[12+r], o[24+r], o[36+r] = v[0], v[1], v[2], v[3]
			}
		}
		for ; p < kb; p++ {
			for r := 0; r < 12; r++ {
				d[p*12+r] = rows[r][p]
			}
		}
	case 6:
		var rows [6][]float32
		for r := range rows {
			rows[r] = row(r)
		}
		p := 0
		for ; p+4 <= kb; p += 4 {
			o := d[p*6 : p*6+24 : p*6+24]
			for r := 0; r < 6; r++ {
				v := rows[r][p : p+4 : p+4]
				o[r], o[6+r], o[12+r], o[18+r] = v[0], v[1], v[2], v[3]
			}
		}
		for ; p < kb; p++ {
			for r := 0; r < 6; r++ {
				d[p*6+r] = rows[r][p]
			}
		}
	default:
		return false
	}
	return true
}

// packTransposed sets d[p*rows+r] = a[r*lda+p] for r < rows and p < kb with
// the kernel set's assembly transpose, after checking that both slices
// cover the block. It returns false, doing nothing, when the set has no
// such routine or rows or kb is not a multiple of 4.
func packTransposed(ks *kernelSet, d, a []float32, lda, kb, rows int) bool {
	if ks.packT == nil || rows%4 != 0 || kb%4 != 0 {
		return false
	}
	if len(d) < kb*rows || len(a) < (rows-1)*lda+kb {
		panic("tensor: packTransposed: block out of range")
	}
	ks.packT(&d[0], &a[0], lda, kb, rows)
	return true
}
