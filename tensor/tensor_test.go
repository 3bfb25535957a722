package tensor

import "testing"

func TestReshapeInfersAndShares(t *testing.T) {
	x := New(2, 3, 4)
	y := x.Reshape(-1, 4)
	if y.Dim(0) != 6 || y.Dim(1) != 4 {
		t.Fatalf("Reshape(-1, 4) of (2, 3, 4) = %v, want [6 4]", y.Shape)
	}
	y.Data[5] = 7
	if x.Data[5] != 7 {
		t.Fatal("Reshape copied the data instead of sharing it")
	}
	if x.Rows() != 6 || x.Cols() != 4 || x.Dim(-2) != 3 {
		t.Fatalf("Rows, Cols, Dim(-2) = %d, %d, %d, want 6, 4, 3", x.Rows(), x.Cols(), x.Dim(-2))
	}
}

func TestRowIsAView(t *testing.T) {
	x := FromSlice([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	r := x.Row(1)
	if len(r) != 2 || r[0] != 3 || r[1] != 4 {
		t.Fatalf("Row(1) = %v, want [3 4]", r)
	}
	r[0] = 9
	if x.Data[2] != 9 {
		t.Fatal("Row returned a copy")
	}
	c := x.Clone()
	c.Data[0] = -1
	if x.Data[0] != 1 {
		t.Fatal("Clone shares data with the original")
	}
}

func TestShapeMismatchPanics(t *testing.T) {
	cases := map[string]func(){
		"FromSlice": func() { FromSlice(make([]float32, 5), 2, 3) },
		"Reshape":   func() { New(2, 3).Reshape(4, 2) },
		"Reshape-1": func() { New(2, 3).Reshape(-1, 4) },
		"two -1":    func() { New(2, 3).Reshape(-1, -1) },
		"negative":  func() { New(2, -3) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}
