package bpe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// withCRC appends the checksum line to a hand-written file body.
func withCRC(body string) string {
	return body + fmt.Sprintf("crc32 %08x\n", crc32.ChecksumIEEE([]byte(body)))
}

func TestReadHandWrittenFile(t *testing.T) {
	file := withCRC("goushi-bpe 1\nmerges 2\n228 184\n256 173\nspecials 1\n\"<|endoftext|>\"\n")
	tok, err := Read(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.VocabSize(); got != 259 {
		t.Errorf("VocabSize = %d, want 259", got)
	}
	if got := string(tok.TokenBytes(257)); got != "中" {
		t.Errorf("token 257 = %q, want 中", got)
	}
	if got := tok.Encode("中中"); !slices.Equal(got, []int{257, 257}) {
		t.Errorf("Encode(中中) = %v, want [257 257]", got)
	}
	var buf bytes.Buffer
	if _, err := tok.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != file {
		t.Errorf("WriteTo = %q, want the file it was read from %q", buf.String(), file)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	tok := sampleTokenizer(t)
	path := filepath.Join(t.TempDir(), "tok.bpe")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Merges(), tok.Merges()) {
		t.Error("loaded merges differ")
	}
	if !reflect.DeepEqual(got.Specials(), tok.Specials()) {
		t.Error("loaded specials differ")
	}
	text := "家人们谁懂啊 hello 123"
	if !slices.Equal(got.Encode(text), tok.Encode(text)) {
		t.Error("loaded tokenizer encodes differently")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want only the file", len(entries))
	}
}

func TestSaveIntoMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "tok.bpe")
	err := sampleTokenizer(t).Save(path)
	if err == nil {
		t.Fatal("Save into a missing folder returned no error")
	}
	want := "bpe: save " + path + ": no such file or directory; check that the folder " +
		filepath.Dir(path) + " exists and is writable"
	if err.Error() != want {
		t.Errorf("Save error = %q, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Save error = %v, want it to wrap fs.ErrNotExist", err)
	}
}

func TestSaveOverFolderNamesTarget(t *testing.T) {
	// Renaming the temporary file over a non-empty folder fails after the
	// temporary file was written; the error still names only the target.
	path := filepath.Join(t.TempDir(), "tok.bpe")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := sampleTokenizer(t).Save(path)
	if err == nil {
		t.Fatal("Save over a folder returned no error")
	}
	if !strings.HasPrefix(err.Error(), "bpe: save "+path+": ") {
		t.Errorf("Save error = %q, want it to start with the target path", err)
	}
	if strings.Contains(err.Error(), ".tmp") {
		t.Errorf("Save error = %q names the temporary file", err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder has %d entries after a failed Save, want 1 (the temporary "+
			"file removed)", len(entries))
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	good := withCRC("goushi-bpe 1\nmerges 1\n97 98\nspecials 0\n")
	cases := []struct {
		name string
		file string
		want string
	}{
		{"not a tokenizer", "hello\n", "not a tokenizer file"},
		{"truncated", good[:len(good)-5], "missing final crc32 line"},
		{"flipped byte", strings.Replace(good, "97 98", "97 99", 1), "checksum mismatch"},
		{"newer version", withCRC("goushi-bpe 2\nmerges 0\nspecials 0\n"),
			"unsupported file version 2; this build reads version 1"},
		{"future id", withCRC("goushi-bpe 1\nmerges 1\n97 256\nspecials 0\n"),
			"refers to a token that is not defined before it"},
		{"duplicate merge", withCRC("goushi-bpe 1\nmerges 2\n97 98\n97 98\nspecials 0\n"),
			`gives the bytes "ab" of token 256 again`},
		{"bad merge line", withCRC("goushi-bpe 1\nmerges 1\n97\nspecials 0\n"),
			`line 3: invalid merge "97"`},
		{"short merges", withCRC("goushi-bpe 1\nmerges 2\n00097 00098\n"),
			"file ends early at line 4"},
		{"extra line", withCRC("goushi-bpe 1\nmerges 0\nspecials 0\nmore\n"),
			`unexpected line "more"`},
		{"bad special", withCRC("goushi-bpe 1\nmerges 0\nspecials 1\n<|x|>\n"),
			"invalid special <|x|>"},
		{"huge count", withCRC("goushi-bpe 1\nmerges 99999999999\n"), `invalid line "merges`},
		// The 17 bytes after the count line hold at most 4 merge lines.
		{"count beyond file", withCRC("goushi-bpe 1\nmerges 16000000\n97 98\nspecials 0\n"),
			"line 2: 16000000 merges announced, but the rest of the file holds at most 4"},
		// Merge i joins token 255+i to itself, so token 256+i is 2^(i+1)
		// bytes long, and 40 such merges would ask for 2 TiB. After merge k
		// the tokens hold 2^(k+2)-2 bytes, and the limit for 40 merges is
		// 2^20 + 40*4096 = 1,212,416, so merge 19 is the first above it.
		{"doubling merges", withCRC(doublingMerges(40)),
			"merge 19 (274 274) brings the tokens to 2097150 bytes, above the limit of 1212416"},
		{"empty file", "", "not a tokenizer file"},
		{"directory", "", "is a directory"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if tc.name == "directory" {
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded; want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "absent.bpe")); err == nil ||
		!strings.Contains(err.Error(), "absent.bpe") {
		t.Errorf("Load of a missing file: error %v, want one naming it", err)
	}
}

// doublingMerges returns a tokenizer file body with n merges, each of
// which joins the previous token to itself.
func doublingMerges(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "goushi-bpe 1\nmerges %d\n97 97\n", n)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "%d %d\n", 255+i, 255+i)
	}
	b.WriteString("specials 0\n")
	return b.String()
}

// endlessReader is a reader that repeats its byte forever.
type endlessReader byte

func (r endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestReadStopsEarlyOnOtherData(t *testing.T) {
	// Read must look at the magic before it reads on: reading an endless
	// stream to the end would never return.
	_, err := Read(endlessReader('x'))
	if err == nil || !strings.Contains(err.Error(), "not a tokenizer file") {
		t.Errorf("Read of endless text: error %v, want \"not a tokenizer file\"", err)
	}
}

func TestByteToUnicode(t *testing.T) {
	m := ByteToUnicode()
	seen := make(map[rune]bool)
	for b, r := range m {
		if seen[r] {
			t.Fatalf("rune %U is used twice (byte %#x)", r, b)
		}
		seen[r] = true
	}
	// GPT-2's alphabet: space is Ġ (U+0120), and 中 (E4 B8 AD) is "ä¸Ń":
	// E4 and B8 are printable Latin-1, AD (soft hyphen) is the 68th
	// unprintable byte, so U+0100 + 67 = U+0143.
	if m[' '] != 'Ġ' {
		t.Errorf("space maps to %q, want Ġ", m[' '])
	}
	got := string([]rune{m[0xE4], m[0xB8], m[0xAD]})
	if got != "ä¸Ń" {
		t.Errorf("中 maps to %q, want %q", got, "ä¸Ń")
	}
	if m['A'] != 'A' || m[0] != 0x100 || m[0x7F] != 0x121 {
		t.Errorf("A, NUL, DEL map to %U %U %U; want U+0041 U+0100 U+0121", m['A'], m[0], m[0x7F])
	}
}

func TestHFJSONRoundTrip(t *testing.T) {
	tok := sampleTokenizer(t)
	var buf bytes.Buffer
	if err := tok.WriteHFJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("tokenizer.json is not valid JSON: %v", err)
	}
	if got := doc.Model.Vocab["Ġ"]; got != 32 {
		t.Errorf("vocab[Ġ] = %d, want 32", got)
	}
	if got := doc.Model.Vocab[EndOfText]; got != 598 {
		t.Errorf("vocab[%s] = %d, want 598", EndOfText, got)
	}
	if len(doc.Model.Merges) != len(tok.Merges()) {
		t.Errorf("%d merges in JSON, want %d", len(doc.Model.Merges), len(tok.Merges()))
	}

	back, err := ReadHFJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Merges(), tok.Merges()) {
		t.Error("merges differ after WriteHFJSON and ReadHFJSON")
	}
	if !reflect.DeepEqual(back.Specials(), tok.Specials()) {
		t.Errorf("specials = %q, want %q", back.Specials(), tok.Specials())
	}
}

func TestReadHFJSONRejectsOtherLayouts(t *testing.T) {
	cases := []struct {
		name string
		json string
		want string
	}{
		{"not json", "{", "parse tokenizer.json"},
		{"wordpiece", `{"model": {"type": "WordPiece"}}`, `model type "WordPiece" is not supported`},
		{"gpt2 order", `{"model": {"type": "BPE", "vocab": {"!": 0}}}`,
			"only files with the bytes as ids 0..255 are supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHFJSON(strings.NewReader(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	// Each input is a file body. It is read as it is and with a valid
	// checksum line appended, so that the fuzzer gets past the checksum.
	f.Add([]byte("goushi-bpe 1\nmerges 2\n228 184\n256 173\nspecials 1\n\"<|endoftext|>\"\n"))
	f.Add([]byte("goushi-bpe 1\nmerges 1\n97 256\nspecials 0\n"))
	f.Add([]byte("goushi-bpe 1\nmerges 16000000\n97 98\nspecials 0\n"))
	f.Add([]byte("goushi-bpe 1\nmerges 2\n97 98\n256 -1\nspecials 2\n\"a\"\n\"a\"\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, data := range [][]byte{body, []byte(withCRC(string(body)))} {
			checkReadWrite(t, data)
		}
	})
}

// checkReadWrite reads data as a tokenizer file. An input either fails
// with an error or gives a tokenizer whose written file reads back to the
// same merges and specials.
func checkReadWrite(t *testing.T, data []byte) {
	tok, err := Read(bytes.NewReader(data))
	if err != nil {
		return
	}
	var buf bytes.Buffer
	if _, err := tok.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&buf)
	if err != nil {
		t.Fatalf("reading the file WriteTo wrote: %v", err)
	}
	if !reflect.DeepEqual(back.Merges(), tok.Merges()) {
		t.Fatal("merges changed in a write and read")
	}
	if !reflect.DeepEqual(back.Specials(), tok.Specials()) {
		t.Fatal("specials changed in a write and read")
	}
}

func TestSaveFileMode(t *testing.T) {
	tok, err := Train([]string{"家人们谁懂啊家人们"}, TrainOptions{VocabSize: 260})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tok.bpe")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o644 {
		t.Errorf("saved tokenizer mode %v, want -rw-r--r--", got)
	}
}
