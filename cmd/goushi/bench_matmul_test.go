package main

import "testing"

func TestParseShapeLabelsKnownShapes(t *testing.T) {
	s, err := parseShape("128,128,64,nt,64", gptShapes())
	if err != nil {
		t.Fatal(err)
	}
	if s.m != 128 || s.n != 128 || s.k != 64 || s.op != "NT" || s.batch != 64 {
		t.Fatalf("parsed %+v, want 128×128×64 NT batch 64", s)
	}
	if s.label != "attention Q·Kᵀ" {
		t.Fatalf("label %q, want the attention scores label", s.label)
	}
	plain, err := parseShape("7,5,3,TN", gptShapes())
	if err != nil {
		t.Fatal(err)
	}
	if plain.batch != 0 || plain.label != "custom" {
		t.Fatalf("parsed %+v, want batch 0 and label custom", plain)
	}
}

func TestParseShapeRejectsBadSpecs(t *testing.T) {
	for _, spec := range []string{"", "1,2,3", "1,2,3,XY", "0,2,3,NN", "1,2,x,NN", "1,2,3,NN,4,5"} {
		if _, err := parseShape(spec, nil); err == nil {
			t.Errorf("parseShape(%q) returned nil error", spec)
		}
	}
}

func TestParseThreadsRejectsBadCounts(t *testing.T) {
	for _, list := range []string{"0", "-1", "two", "1,100000"} {
		if _, err := parseThreads(list); err == nil {
			t.Errorf("parseThreads(%q) returned nil error", list)
		}
	}
	got, err := parseThreads("1")
	if err != nil || len(got) != 1 || got[0] != 1 {
		t.Fatalf("parseThreads(1) = %v, %v, want [1]", got, err)
	}
}

func TestGPTShapesCoverEveryLinearForm(t *testing.T) {
	forms := map[string]int{}
	for _, s := range gptShapes() {
		forms[s.op]++
	}
	// 5 linear layers × (NT forward, NN dX, TN dW) plus 3 attention products.
	if forms["NT"] != 6 || forms["NN"] != 6 || forms["TN"] != 6 {
		t.Fatalf("op counts %v, want 6 NT, 6 NN and 6 TN", forms)
	}
}
