package gpt

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goushi/goushi/tensor"
)

// TestSafetensorsLayoutByHand checks the bytes of a written file against
// the format: header length, JSON header, then raw little-endian F32.
func TestSafetensorsLayoutByHand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.safetensors")
	ts := map[string]*tensor.Tensor{
		"w": tensor.FromSlice([]float32{1, -2, 0.5, 3}, 2, 2),
		"b": tensor.FromSlice([]float32{-1}, 1),
	}
	if err := WriteSafetensors(path, []string{"w", "b"}, ts, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if (8+n)%8 != 0 {
		t.Errorf("data starts at byte %d, want a multiple of 8", 8+n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		t.Fatalf("header is not JSON: %v", err)
	}
	var w struct {
		DType       string   `json:"dtype"`
		Shape       []int    `json:"shape"`
		DataOffsets [2]int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(header["w"], &w); err != nil {
		t.Fatal(err)
	}
	if w.DType != "F32" || len(w.Shape) != 2 || w.Shape[0] != 2 || w.Shape[1] != 2 ||
		w.DataOffsets != [2]int64{0, 16} {
		t.Errorf("entry of w = %+v, want F32 [2 2] [0 16]", w)
	}
	if !strings.Contains(string(header["__metadata__"]), `"k":"v"`) {
		t.Errorf("metadata = %s, want k: v", header["__metadata__"])
	}
	// 1.0 is 0x3f800000, -2.0 is 0xc0000000, 0.5 is 0x3f000000, 3.0 is
	// 0x40400000 and -1.0 is 0xbf800000, each stored little-endian.
	want := []byte{
		0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f, 0, 0, 0x40, 0x40,
		0, 0, 0x80, 0xbf,
	}
	if got := data[8+n:]; string(got) != string(want) {
		t.Errorf("data = % x, want % x", got, want)
	}
}

// TestReadSafetensorsHandWritten reads a file built byte by byte.
func TestReadSafetensorsHandWritten(t *testing.T) {
	header := `{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`
	var buf []byte
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(header)))
	buf = append(buf, header...)
	buf = append(buf, 0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0x20, 0xc1) // 1, 0, -10
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	names, ts, meta, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "x" || meta != nil {
		t.Fatalf("names %v, metadata %v; want [x] and none", names, meta)
	}
	got := ts["x"].Data
	if len(got) != 3 || got[0] != 1 || got[1] != 0 || got[2] != -10 {
		t.Errorf("x = %v, want [1 0 -10]", got)
	}
}

func TestReadSafetensorsRejectsDamage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	ts := map[string]*tensor.Tensor{"w": tensor.FromSlice([]float32{1, 2, 3, 4}, 4)}
	if err := WriteSafetensors(good, []string{"w"}, ts, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	n := int(binary.LittleEndian.Uint64(data[:8]))

	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		{"empty", nil, "truncated"},
		{"header cut", data[:8+n/2], "truncated"},
		{"data cut", data[:len(data)-3], "truncated"},
		{"bad json", append(append([]byte{}, data[:8]...), []byte(strings.Repeat("{", n))...),
			"malformed header"},
		{"extra bytes", append(append([]byte{}, data...), 1, 2, 3, 4), "cover"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.content, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := ReadSafetensors(path)
			if err == nil {
				t.Fatal("ReadSafetensors succeeded, want an error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q should name %s and say %q", err, path, c.want)
			}
		})
	}
}

func TestReadSafetensorsRejectsOtherDType(t *testing.T) {
	header := `{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`
	var buf []byte
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(header)))
	buf = append(buf, header...)
	buf = append(buf, 0, 0x3c, 0, 0x40)
	path := filepath.Join(t.TempDir(), "h.safetensors")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := ReadSafetensors(path)
	if err == nil || !strings.Contains(err.Error(), "F16") {
		t.Errorf("error = %v, want one naming dtype F16", err)
	}
}

func TestReadSafetensorsTruncationNamesFirstTensor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.safetensors")
	names := []string{"e", "d", "c", "b", "a"}
	ts := map[string]*tensor.Tensor{}
	for _, name := range names {
		ts[name] = tensor.FromSlice([]float32{1, 2}, 2)
	}
	if err := WriteSafetensors(path, names, ts, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Each tensor takes 8 bytes in the order of names. Cutting 20 bytes
	// leaves e, d and half of c: c is the first tensor past the end, while
	// b and a lie wholly outside the data too.
	if err := os.WriteFile(path, data[:len(data)-20], 0o644); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		_, _, _, err := ReadSafetensors(path)
		if err == nil || !strings.Contains(err.Error(), `tensor "c"`) {
			t.Fatalf("error %v, want one naming tensor \"c\" every time", err)
		}
	}
}
