//go:build !unix

package gpt

import (
	"io"
	"os"
)

// mapFile reads the first size bytes of f into memory, on systems where
// goushi does not memory-map files. The slice comes from make, whose large
// allocations are aligned for uint32 reads.
func mapFile(f *os.File, size int) ([]byte, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}

func unmapFile([]byte) error { return nil }
