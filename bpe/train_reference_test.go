package bpe

import (
	"reflect"
	"testing"
)

// referenceTrain is the textbook BPE trainer, independent of train.go. It
// recounts every pair of every pre-token before each merge and takes the
// highest count, with ties to the smaller left id, then the smaller right
// id. It skips a pair whose bytes equal an existing token and rewrites each
// pre-token from left to right.
func referenceTrain(texts []string, numMerges int, minFreq int64) [][2]int {
	counts := make(map[string]int64)
	for _, text := range texts {
		for _, p := range PreTokenize(text) {
			counts[p]++
		}
	}
	type word struct {
		syms  []int
		count int64
	}
	var words []word
	for p, c := range counts {
		syms := make([]int, len(p))
		for i := 0; i < len(p); i++ {
			syms[i] = int(p[i])
		}
		words = append(words, word{syms, c})
	}
	tokens := make([]string, 256)
	known := make(map[string]bool)
	for b := range tokens {
		tokens[b] = string([]byte{byte(b)})
		known[tokens[b]] = true
	}

	var merges [][2]int
	for len(merges) < numMerges {
		pairs := make(map[[2]int]int64)
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]int{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		best, bestCount := [2]int{-1, -1}, int64(0)
		for p, c := range pairs {
			if c < minFreq || known[tokens[p[0]]+tokens[p[1]]] {
				continue
			}
			better := c > bestCount || c == bestCount &&
				(p[0] < best[0] || p[0] == best[0] && p[1] < best[1])
			if better {
				best, bestCount = p, c
			}
		}
		if bestCount == 0 {
			break
		}
		id := len(tokens)
		tokens = append(tokens, tokens[best[0]]+tokens[best[1]])
		known[tokens[id]] = true
		merges = append(merges, best)
		for wi, w := range words {
			var out []int
			for i := 0; i < len(w.syms); i++ {
				if i+1 < len(w.syms) && w.syms[i] == best[0] && w.syms[i+1] == best[1] {
					out = append(out, id)
					i++
					continue
				}
				out = append(out, w.syms[i])
			}
			words[wi].syms = out
		}
	}
	return merges
}

func TestTrainMatchesReference(t *testing.T) {
	corpora := [][]string{sampleCorpus()}
	for seed := uint64(60); seed < 64; seed++ {
		corpora = append(corpora, randomCorpus(seed, 120, 80))
	}
	for i, docs := range corpora {
		for _, minFreq := range []int{1, 3} {
			got, err := Train(docs, TrainOptions{VocabSize: 256 + 120, MinFrequency: minFreq})
			if err != nil {
				t.Fatal(err)
			}
			want := referenceTrain(docs, 120, int64(minFreq))
			if len(want) < 50 {
				t.Fatalf("corpus %d: the reference made only %d merges", i, len(want))
			}
			if !reflect.DeepEqual(got.Merges(), want) {
				t.Errorf("corpus %d min frequency %d: merges differ from the reference\n"+
					"got  %v\nwant %v", i, minFreq, got.Merges(), want)
			}
		}
	}
}
