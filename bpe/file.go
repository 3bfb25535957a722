package bpe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileVersion is the version of the tokenizer file format that WriteTo
// writes and Read accepts.
const FileVersion = 1

// fileMagic starts every tokenizer file.
const fileMagic = "goushi-bpe"

// maxFileMerges bounds the merge count that Read accepts, so a corrupt
// header cannot make it allocate without limit.
const maxFileMerges = 1 << 24

// maxFileBytes bounds the size of a file that Read accepts. A file with
// maxFileMerges merges of two 8-digit ids is about 300 MB.
const maxFileBytes = 512 << 20

// WriteTo writes t in the tokenizer file format, version 1, a UTF-8 text
// file of lines ending in "\n":
//
//	goushi-bpe 1
//	merges M
//	A B          (M lines: the ids merged into 256, 257, ...)
//	specials S
//	"TEXT"       (S lines: Go-quoted special texts, in id order)
//	crc32 XXXXXXXX
//
// The last line holds the IEEE CRC-32, in hex, of every byte before it,
// so a truncated or edited file fails to load.
func (t *Tokenizer) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %d\n", fileMagic, FileVersion)
	fmt.Fprintf(&buf, "merges %d\n", len(t.merges))
	for _, m := range t.merges {
		buf.WriteString(strconv.Itoa(int(m[0])))
		buf.WriteByte(' ')
		buf.WriteString(strconv.Itoa(int(m[1])))
		buf.WriteByte('\n')
	}
	fmt.Fprintf(&buf, "specials %d\n", len(t.specials))
	for _, s := range t.specials {
		buf.WriteString(strconv.Quote(s))
		buf.WriteByte('\n')
	}
	fmt.Fprintf(&buf, "crc32 %08x\n", crc32.ChecksumIEEE(buf.Bytes()))
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}

// Read parses a tokenizer file written by WriteTo. It rejects input that
// does not start with the magic after reading only that far, and input
// larger than 512 MiB.
func Read(r io.Reader) (*Tokenizer, error) {
	data, err := readFile(r)
	if err != nil {
		return nil, err
	}
	return parseFile(data)
}

// readFile reads a whole tokenizer file. It checks the magic before it
// reads on and stops after maxFileBytes, so a large file of another kind
// fails fast and is never read into memory.
func readFile(r io.Reader) ([]byte, error) {
	magic := fileMagic + " "
	data := make([]byte, len(magic))
	n, err := io.ReadFull(r, data)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("bpe: read tokenizer: %w", err)
	}
	if string(data[:n]) != magic {
		return nil, fmt.Errorf("bpe: not a tokenizer file: it does not start with %q", magic)
	}
	rest, err := io.ReadAll(io.LimitReader(r, maxFileBytes-int64(n)+1))
	if err != nil {
		return nil, fmt.Errorf("bpe: read tokenizer: %w", err)
	}
	if n+len(rest) > maxFileBytes {
		return nil, fmt.Errorf("bpe: tokenizer file is larger than %d MiB; "+
			"no valid tokenizer file is that large", maxFileBytes>>20)
	}
	return append(data, rest...), nil
}

func parseFile(data []byte) (*Tokenizer, error) {
	magic := fileMagic + " "
	if !bytes.HasPrefix(data, []byte(magic)) {
		return nil, fmt.Errorf("bpe: not a tokenizer file: it does not start with %q", magic)
	}
	body, sum, err := splitChecksum(data)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	line, consumed := 0, 0
	next := func() (string, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return "", fmt.Errorf("bpe: line %d: %w", line+1, err)
			}
			return "", fmt.Errorf("bpe: file ends early at line %d", line+1)
		}
		line++
		consumed += len(sc.Bytes()) + 1
		return sc.Text(), nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bpe: line %d: "+format, append([]any{line}, args...)...)
	}

	header, _ := next()
	version, err := strconv.Atoi(strings.TrimPrefix(header, magic))
	if err != nil {
		return nil, bad("invalid header %q; want %q", header, fmt.Sprintf("%s %d", fileMagic,
			FileVersion))
	}
	if version != FileVersion {
		return nil, bad("unsupported file version %d; this build reads version %d",
			version, FileVersion)
	}
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("bpe: checksum mismatch: the file is corrupt or was edited")
	}

	numMerges, err := readCount(next, "merges", maxFileMerges)
	if err != nil {
		return nil, bad("%v", err)
	}
	// A merge line takes at least 4 bytes ("1 2\n"), so a count that the
	// file cannot hold is rejected before the merges are allocated.
	if left := (len(body) - consumed) / 4; numMerges > left {
		return nil, bad("%d merges announced, but the rest of the file holds at most %d",
			numMerges, left)
	}
	merges := make([][2]int32, numMerges)
	for i := range merges {
		s, err := next()
		if err != nil {
			return nil, err
		}
		a, b, ok := strings.Cut(s, " ")
		x, errA := strconv.ParseInt(a, 10, 32)
		y, errB := strconv.ParseInt(b, 10, 32)
		if !ok || errA != nil || errB != nil {
			return nil, bad("invalid merge %q; want two token ids", s)
		}
		merges[i] = [2]int32{int32(x), int32(y)}
	}
	numSpecials, err := readCount(next, "specials", 1<<16)
	if err != nil {
		return nil, bad("%v", err)
	}
	specials := make([]string, numSpecials)
	for i := range specials {
		s, err := next()
		if err != nil {
			return nil, err
		}
		if specials[i], err = strconv.Unquote(s); err != nil {
			return nil, bad("invalid special %s: %v", s, err)
		}
	}
	if sc.Scan() {
		return nil, bad("unexpected line %q after the specials", sc.Text())
	}
	return newTokenizer(merges, specials)
}

// splitChecksum separates the final "crc32 XXXXXXXX\n" line from data.
func splitChecksum(data []byte) ([]byte, uint32, error) {
	const tail = len("crc32 00000000\n")
	if len(data) < tail || !bytes.HasPrefix(data[len(data)-tail:], []byte("crc32 ")) ||
		data[len(data)-1] != '\n' {
		return nil, 0, errors.New("bpe: missing final crc32 line: the file is truncated")
	}
	sum, err := strconv.ParseUint(string(data[len(data)-tail+6:len(data)-1]), 16, 32)
	if err != nil {
		return nil, 0, fmt.Errorf("bpe: invalid crc32 line %q", data[len(data)-tail:])
	}
	return data[:len(data)-tail], uint32(sum), nil
}

// readCount parses a "NAME N" line with 0 <= N <= limit.
func readCount(next func() (string, error), name string, limit int) (int, error) {
	s, err := next()
	if err != nil {
		return 0, err
	}
	v, ok := strings.CutPrefix(s, name+" ")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 0 || n > limit {
		return 0, fmt.Errorf("invalid line %q; want %q with N from 0 to %d", s, name+" N", limit)
	}
	return n, nil
}

// Save writes t to path atomically: it writes a temporary file in the
// same directory, syncs it and renames it over path, so a crash leaves
// either the old file or the new one.
func (t *Tokenizer) Save(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return saveError(path, err)
	}
	tmp := f.Name()
	// CreateTemp makes the file private (0600); a tokenizer is ordinary data.
	err = f.Chmod(0o644)
	if err == nil {
		_, err = t.WriteTo(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return saveError(path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; not all file systems support it
		d.Close()
	}
	return nil
}

// saveError reports a failed Save under the target path. The operating
// system's error names the hidden temporary file, which the user never
// asked for, so only its cause is kept.
func saveError(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("bpe: save %s: %w; check that the folder %s exists and is writable",
		path, err, filepath.Dir(path))
}

// Load reads a tokenizer file written by Save. Its errors name the path.
func Load(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bpe: load tokenizer: %w", err)
	}
	defer f.Close()
	t, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	return t, nil
}
