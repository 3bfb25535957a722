package gpt

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/goushi/goushi/tensor"
)

// A safetensors file starts with an 8-byte little-endian header length N.
// The next N bytes are a JSON object that maps each tensor name to its
// dtype, shape and [begin, end) byte offsets into the data section, with
// an optional "__metadata__" object of strings. The raw little-endian data
// follows. goushi writes and reads only F32.

// maxSafetensorsHeader bounds the header length read from a file, so a
// corrupt length cannot make ReadSafetensors allocate gigabytes.
const maxSafetensorsHeader = 100 << 20

type safetensorsEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteSafetensors writes the tensors named in names, in that order, to
// path as F32 safetensors with the given metadata (nil for none). The file
// is written to a temporary name in the same folder, synced and renamed,
// so path holds either the old file or the complete new one.
func WriteSafetensors(path string, names []string, tensors map[string]*tensor.Tensor,
	metadata map[string]string) error {
	header := make(map[string]any, len(names)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var offset int64
	for _, name := range names {
		t, ok := tensors[name]
		if !ok || t == nil {
			return fmt.Errorf("write %s: tensor %q is listed but missing", path, name)
		}
		if name == "__metadata__" {
			return fmt.Errorf("write %s: %q is reserved and cannot name a tensor", path, name)
		}
		if _, dup := header[name]; dup {
			return fmt.Errorf("write %s: tensor %q is listed twice", path, name)
		}
		size := int64(4 * len(t.Data))
		header[name] = safetensorsEntry{
			DType:       "F32",
			Shape:       append([]int{}, t.Shape...),
			DataOffsets: [2]int64{offset, offset + size},
		}
		offset += size
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Pad the header with spaces so that the data starts 8-byte aligned and
	// a reader may map it as float32.
	for (8+len(js))%8 != 0 {
		js = append(js, ' ')
	}

	return writeFileAtomic(path, func(f *os.File) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
		if _, err := f.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := f.Write(js); err != nil {
			return err
		}
		buf := make([]byte, 0, 1<<16)
		for _, name := range names {
			for _, x := range tensors[name].Data {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
				if len(buf) == cap(buf) {
					if _, err := f.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		}
		_, err := f.Write(buf)
		return err
	})
}

// ReadSafetensors reads an F32 safetensors file. names lists the tensors in
// the order of their data offsets. It returns an error naming the file, and
// the tensor where one is at fault, for a truncated file, a malformed
// header, a dtype other than F32, or offsets that do not match the shapes.
func ReadSafetensors(path string) (names []string, tensors map[string]*tensor.Tensor,
	metadata map[string]string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(data) < 8 {
		return nil, nil, nil, fmt.Errorf("read %s: file of %d bytes is too short for a "+
			"safetensors header; the file is truncated", path, len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > maxSafetensorsHeader || n > uint64(len(data)-8) {
		return nil, nil, nil, fmt.Errorf("read %s: header length %d does not fit the "+
			"file of %d bytes; the file is truncated or not safetensors", path, n, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("read %s: malformed header: %w", path, err)
	}
	body := data[8+n:]

	// Entries are checked in name order and decoded in data order, so that
	// a broken file gives the same error on every run whatever the map order.
	keys := slices.Sorted(maps.Keys(raw))
	type span struct {
		name       string
		entry      safetensorsEntry
		begin, end int64
	}
	var spans []span
	for _, name := range keys {
		msg := raw[name]
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &metadata); err != nil {
				return nil, nil, nil, fmt.Errorf("read %s: malformed __metadata__: %w", path, err)
			}
			continue
		}
		var e safetensorsEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, nil, fmt.Errorf("read %s: tensor %q: malformed entry: %w",
				path, name, err)
		}
		spans = append(spans, span{name, e, e.DataOffsets[0], e.DataOffsets[1]})
	}
	slices.SortStableFunc(spans, func(a, b span) int { return cmp.Compare(a.begin, b.begin) })

	tensors = make(map[string]*tensor.Tensor, len(spans))
	for _, s := range spans {
		t, err := decodeF32(s.name, s.entry, body)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		tensors[s.name] = t
	}

	// The data section must be covered exactly once: overlapping tensors or
	// unused bytes mean a corrupt or foreign file.
	var next int64
	for _, s := range spans {
		if s.begin != next {
			return nil, nil, nil, fmt.Errorf("read %s: tensor %q starts at byte %d, want %d; "+
				"the data offsets overlap or leave gaps", path, s.name, s.begin, next)
		}
		next = s.end
		names = append(names, s.name)
	}
	if next != int64(len(body)) {
		return nil, nil, nil, fmt.Errorf("read %s: tensors cover %d of %d data bytes",
			path, next, len(body))
	}
	return names, tensors, metadata, nil
}

func decodeF32(name string, e safetensorsEntry, body []byte) (*tensor.Tensor, error) {
	if e.DType != "F32" {
		return nil, fmt.Errorf("tensor %q has dtype %s; goushi reads only F32", name, e.DType)
	}
	count := int64(1)
	for _, d := range e.Shape {
		if d < 0 || (d > 0 && count > math.MaxInt32/int64(d)) {
			return nil, fmt.Errorf("tensor %q has invalid shape %v", name, e.Shape)
		}
		count *= int64(d)
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin || end > int64(len(body)) {
		return nil, fmt.Errorf("tensor %q has data offsets [%d, %d) outside the %d data "+
			"bytes; the file is truncated or corrupt", name, begin, end, len(body))
	}
	if end-begin != 4*count {
		return nil, fmt.Errorf("tensor %q of shape %v needs %d bytes but its offsets span %d",
			name, e.Shape, 4*count, end-begin)
	}
	values := make([]float32, count)
	src := body[begin:end]
	for i := range values {
		values[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
	shape := e.Shape
	if shape == nil {
		shape = []int{}
	}
	return tensor.FromSlice(values, shape...), nil
}

// writeFileAtomic creates a temporary file beside path, lets write fill it,
// syncs it and renames it over path. On any error the temporary file is
// removed and path is untouched.
func writeFileAtomic(path string, write func(f *os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file private (0600); a checkpoint is ordinary data.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// errNotExist reports whether err means a missing file.
func errNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
