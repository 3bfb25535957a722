package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// piece returns a distinct document of about 60 Han characters.
func piece(i int) string {
	return fmt.Sprintf("第%d号通知：今天楼下的煎饼摊老板又多给我打了一个蛋，说是老顾客专享，"+
		"我当场决定写一篇八百字的感谢信，第%d版。", i, i) + strings.Repeat(fmt.Sprint(i%10), 3)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// uniquePieces returns n pieces that the default deduper keeps.
func uniquePieces(n int) []string {
	out := make([]string, n)
	for i := range out {
		// Each piece gets a distinct clause from a shuffled pool so that
		// pieces share under half of their shingles.
		out[i] = fmt.Sprintf("%s%s。%s", poolClause(i), poolClause(i*7+3), poolClause(i*13+5))
	}
	return out
}

func poolClause(i int) string {
	const han = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏闰余成岁律吕调阳云腾致雨露结为霜" +
		"金生丽水玉出昆冈剑号巨阙珠称夜光果珍李柰菜重芥姜海咸河淡鳞潜羽翔龙师火帝鸟官人皇"
	rs := []rune(han)
	var sb strings.Builder
	x := uint64(i)*0x9e3779b97f4a7c15 + 1
	for range 12 {
		x = mix64(x)
		sb.WriteRune(rs[x%uint64(len(rs))])
	}
	return sb.String()
}

func addFiles(t *testing.T, s *Store, src Source, paths ...string) *AddResult {
	t.Helper()
	res, err := s.Add(AddRequest{Paths: paths, Source: src, Options: DefaultOptions(), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestStoreAddAndReopen(t *testing.T) {
	in, dir := t.TempDir(), filepath.Join(t.TempDir(), "store")
	p := uniquePieces(3)
	f := writeFile(t, in, "a.txt", strings.Join(p, "\n===\n"))
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Name: "bilibili", URL: "https://example.com", License: "CC-BY-4.0", Author: "某人"}
	res := addFiles(t, s, src, f)
	if !res.Changed || res.Report.Kept != 3 {
		t.Fatalf("add kept %d (changed %v), want 3 and a write", res.Report.Kept, res.Changed)
	}

	s2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := s2.Corpus()
	if len(c.Docs) != 3 {
		t.Fatalf("reopened store has %d documents, want 3", len(c.Docs))
	}
	for i, d := range c.Docs {
		if d.Text != p[i] || d.Source != "bilibili" || d.ID != TextID(p[i]) {
			t.Errorf("document %d = %+v, want text %q from bilibili", i, d, p[i])
		}
	}
	md := s2.Manifest.Documents[0]
	want := ManifestDoc{SHA256: TextID(p[0]), Source: "bilibili", URL: src.URL, License: src.License,
		Author: src.Author, Added: testNow, Bytes: len(p[0]), Chars: len([]rune(p[0])),
		Origin: f + "#1", Pack: md.Pack}
	if md != want {
		t.Errorf("manifest record = %+v, want %+v", md, want)
	}
	if len(c.Sources) != 1 || c.Sources[0] != src {
		t.Errorf("sources = %+v, want [%+v]", c.Sources, src)
	}
}

// snapshot returns the contents of every file under dir, by path.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func assertSameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(after) != len(before) {
		t.Errorf("store went from %d to %d files", len(before), len(after))
	}
	for path, data := range before {
		if after[path] != data {
			t.Errorf("%s changed", path)
		}
	}
}

func TestStoreAddSameFileTwiceChangesNothing(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	f := writeFile(t, in, "a.txt", strings.Join(uniquePieces(4), "\n===\n"))
	s, _ := OpenStore(dir)
	addFiles(t, s, Source{Name: "a", License: "MIT"}, f)
	before := snapshot(t, dir)

	// The same file again, by name and through its folder, under the same
	// source without repeating its licence, and under a new source name.
	for _, c := range []struct {
		name string
		path string
		src  Source
	}{
		{"same request", f, Source{Name: "a", License: "MIT"}},
		{"licence left out", f, Source{Name: "a"}},
		{"through the folder", in, Source{Name: "a", License: "MIT"}},
		{"other source", f, Source{Name: "b", License: "CC0-1.0"}},
	} {
		res := addFiles(t, s, c.src, c.path)
		if res.Changed || res.Report.Kept != 0 || res.Report.Count(ExactDuplicate) != 4 {
			t.Errorf("%s: changed %v, %s; want no change and 4 exact duplicates",
				c.name, res.Changed, res.Report.Summary())
		}
		assertSameFiles(t, before, snapshot(t, dir))
	}
}

func TestStoreAddRejectsMissingSource(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	f := writeFile(t, in, "a.txt", piece(1))
	s, _ := OpenStore(dir)
	for _, name := range []string{"", "   "} {
		_, err := s.Add(AddRequest{Paths: []string{f}, Source: Source{Name: name}})
		if !errors.Is(err, ErrNoSource) {
			t.Errorf("source %q: err = %v, want ErrNoSource", name, err)
		}
	}
	if IsStore(dir) {
		t.Error("a rejected add created a manifest")
	}
}

func TestStoreInterruptedAddKeepsOldStore(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	p := uniquePieces(4)
	first := writeFile(t, in, "a.txt", p[0]+"\n===\n"+p[1])
	second := writeFile(t, in, "b.txt", p[2]+"\n===\n"+p[3])
	s, _ := OpenStore(dir)
	addFiles(t, s, Source{Name: "a"}, first)

	crash := errors.New("simulated crash")
	beforeCommit = func() error { return crash }
	manifest, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Add(AddRequest{Paths: []string{second}, Source: Source{Name: "b"},
		Options: DefaultOptions()})
	beforeCommit = nil
	if !errors.Is(err, crash) {
		t.Fatalf("err = %v, want the simulated crash", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ManifestName)); !bytes.Equal(after, manifest) {
		t.Error("the interrupted add changed the manifest")
	}
	// A temporary manifest left by a crash mid-write must not matter either.
	writeFile(t, dir, "."+ManifestName+".tmp-123", "{broken")

	s2, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("store unreadable after an interrupted add: %v", err)
	}
	c := s2.Corpus()
	if len(c.Docs) != 2 || len(c.Sources) != 1 {
		t.Fatalf("after the interrupted add: %d documents and %d sources, want 2 and 1",
			len(c.Docs), len(c.Sources))
	}
	res := addFiles(t, s2, Source{Name: "b"}, second)
	if res.Report.Kept != 2 {
		t.Errorf("retried add kept %d, want 2", res.Report.Kept)
	}
}

func TestStoreRejectsConcurrentAdd(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	p := uniquePieces(2)
	first, _ := OpenStore(dir)
	second, _ := OpenStore(dir)
	addFiles(t, first, Source{Name: "a"}, writeFile(t, in, "a.txt", p[0]))
	_, err := second.Add(AddRequest{Paths: []string{writeFile(t, in, "b.txt", p[1])},
		Source: Source{Name: "b"}, Options: DefaultOptions()})
	if err == nil || !strings.Contains(err.Error(), "changed during this add") {
		t.Fatalf("err = %v, want a concurrent-change error", err)
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Corpus(); len(c.Docs) != 1 || c.Docs[0].Source != "a" {
		t.Errorf("store has %+v, want only the first add's document", c.Docs)
	}
}

func TestStoreDetectsCorruptPack(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	f := writeFile(t, in, "a.txt", piece(1))
	s, _ := OpenStore(dir)
	addFiles(t, s, Source{Name: "a"}, f)
	pack := filepath.Join(dir, packDir, s.Manifest.Documents[0].Pack)
	if err := os.WriteFile(pack, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); err == nil || !strings.Contains(err.Error(), pack) {
		t.Errorf("err = %v, want an error naming %s", err, pack)
	}
}

func TestStoreSourceConflict(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	p := uniquePieces(2)
	a := writeFile(t, in, "a.txt", p[0])
	b := writeFile(t, in, "b.txt", p[1])
	s, _ := OpenStore(dir)
	addFiles(t, s, Source{Name: "weibo", License: "CC-BY-4.0"}, a)
	_, err := s.Add(AddRequest{Paths: []string{b}, Source: Source{Name: "weibo", License: "MIT"},
		Options: DefaultOptions()})
	if err == nil || !strings.Contains(err.Error(), "CC-BY-4.0") {
		t.Errorf("err = %v, want a licence conflict naming CC-BY-4.0", err)
	}
	// Omitting the licence reuses the stored one, and a URL fills a gap.
	addFiles(t, s, Source{Name: "weibo", URL: "https://weibo.com"}, b)
	want := Source{Name: "weibo", License: "CC-BY-4.0", URL: "https://weibo.com"}
	if got := s.Manifest.Sources; len(got) != 1 || got[0] != want {
		t.Errorf("sources = %+v, want [%+v]", got, want)
	}
}

func TestStoreSourceUpdateWithoutNewText(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	f := writeFile(t, in, "a.txt", uniquePieces(1)[0])
	s, _ := OpenStore(dir)
	addFiles(t, s, Source{Name: "a"}, f)
	res := addFiles(t, s, Source{Name: "a", License: "CC0-1.0"}, f)
	if !res.Changed {
		t.Fatal("a licence for a source stored as unknown was not recorded")
	}
	s2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Manifest.Sources[0].License; got != "CC0-1.0" {
		t.Errorf("source licence = %q, want CC0-1.0", got)
	}
	if got := s2.Manifest.Documents[0].License; got != "CC0-1.0" {
		t.Errorf("document record licence = %q, want CC0-1.0", got)
	}
	if n := len(s2.Corpus().Docs); n != 1 {
		t.Errorf("%d documents, want 1", n)
	}
}

func TestStoreDropsDuplicatesOfStoredText(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	p := uniquePieces(2)
	s, _ := OpenStore(dir)
	addFiles(t, s, Source{Name: "a"}, writeFile(t, in, "a.txt", p[0]))
	near := strings.Replace(p[0], "。", "！", 1)
	res := addFiles(t, s, Source{Name: "b"},
		writeFile(t, in, "b.txt", near+"\n===\n"+p[1]+"\n===\n短"))
	if res.Report.Kept != 1 || res.Report.Count(NearDuplicate) != 1 ||
		res.Report.Count(TooShort) != 1 {
		t.Errorf("report = %s, want 1 kept, 1 near duplicate, 1 too short",
			res.Report.Summary())
	}
}

func TestStoreAddFolderAndBadFileChangesNothing(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	p := uniquePieces(2)
	writeFile(t, in, "a.txt", p[0])
	writeFile(t, in, "notes.csv", "ignored")
	writeFile(t, in, "b.jsonl", `{"text": "`+p[1]+`", "style": "抽象"}`)
	s, _ := OpenStore(dir)
	res := addFiles(t, s, Source{Name: "folder"}, in)
	if len(res.Files) != 2 || res.Report.Kept != 2 {
		t.Fatalf("read %d files and kept %d, want 2 and 2", len(res.Files), res.Report.Kept)
	}
	if s.Corpus().Docs[1].Style != "抽象" {
		t.Errorf("JSON Lines style = %q, want 抽象", s.Corpus().Docs[1].Style)
	}

	bad := writeFile(t, t.TempDir(), "bad.jsonl", "{oops")
	good := writeFile(t, t.TempDir(), "c.txt", uniquePieces(3)[2])
	if _, err := s.Add(AddRequest{Paths: []string{good, bad}, Source: Source{Name: "x"},
		Options: DefaultOptions()}); err == nil {
		t.Fatal("adding a bad file returned no error")
	}
	s2, _ := OpenStore(dir)
	if n := len(s2.Corpus().Docs); n != 2 {
		t.Errorf("store has %d documents after a failed add, want 2", n)
	}
}

func TestStoreAddBadInputErrors(t *testing.T) {
	in := t.TempDir()
	emptyDir := filepath.Join(in, "nothing")
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(in, "missing.txt")
	empty := writeFile(t, in, "empty.txt", "")
	blank := writeFile(t, in, "blank.txt", " \n\n===\n\t\n")
	binary := writeFile(t, in, "photo.jpg", "\xff\xd8\xff\xe0\x00\x10JFIF")
	cases := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"missing file", []string{missing}, []string{missing, "not found", "check the path"}},
		{"folder without text files", []string{emptyDir},
			[]string{emptyDir, "no .txt, .md, .jsonl or .json files"}},
		{"empty file", []string{empty}, []string{"no text found in " + empty}},
		{"blank files", []string{empty, blank}, []string{empty + ", " + blank}},
		{"binary file", []string{binary}, []string{binary, "undecodable bytes", "convert"}},
		{"no paths", nil, []string{"no input files given"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Add(AddRequest{Paths: c.paths, Source: Source{Name: "s"},
				Options: DefaultOptions()})
			if err == nil {
				t.Fatal("Add returned no error")
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if IsStore(dir) {
				t.Error("a failed add created a manifest")
			}
		})
	}
}

func TestStoreUnwritableIsError(t *testing.T) {
	// Permissions do not stop root, so the store is made unwritable with a
	// regular file where its packs folder must go.
	in, dir := t.TempDir(), t.TempDir()
	writeFile(t, dir, packDir, "a file in the way")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Add(AddRequest{Paths: []string{writeFile(t, in, "a.txt", piece(1))},
		Source: Source{Name: "s"}, Options: DefaultOptions()})
	if err == nil || !strings.Contains(err.Error(), "write store "+dir) ||
		!strings.Contains(err.Error(), "folder that you can write to") {
		t.Errorf("err = %v, want a write error naming %s and the fix", err, dir)
	}
	if IsStore(dir) {
		t.Error("a failed add created a manifest")
	}
}

func TestOpenStoreOnFileIsError(t *testing.T) {
	f := writeFile(t, t.TempDir(), "notes", "not a store")
	_, err := OpenStore(f)
	if err == nil || !strings.Contains(err.Error(), "store "+f+" is a file, not a folder") {
		t.Errorf("err = %v, want an error saying %s is a file", err, f)
	}
}

func TestStoreAddFolderSkipsStores(t *testing.T) {
	in := t.TempDir()
	dir := filepath.Join(in, "goushi-data")
	p := uniquePieces(2)
	writeFile(t, in, "a.txt", p[0])
	s, _ := OpenStore(dir)
	addFiles(t, s, Source{Name: "s"}, in)

	writeFile(t, in, "b.txt", p[1])
	res := addFiles(t, s, Source{Name: "s"}, in)
	if len(res.Files) != 2 || res.Report.Kept != 1 {
		t.Errorf("read %+v and kept %d, want a.txt and b.txt and 1 kept",
			res.Files, res.Report.Kept)
	}
	_, err := s.Add(AddRequest{Paths: []string{dir}, Source: Source{Name: "s"}})
	if err == nil || !strings.Contains(err.Error(), dir+" is a store") {
		t.Errorf("err = %v, want an error saying %s is a store", err, dir)
	}
}

func TestOpenStoreRejectsPackOutsideStore(t *testing.T) {
	dir := t.TempDir()
	manifest := `{"version": 1, "sources": [{"name": "s", "license": "MIT"}], "documents": [
		{"sha256": "` + TextID("x") + `", "source": "s", "license": "MIT",
		"pack": "../../outside.jsonl.gz"}]}`
	writeFile(t, dir, ManifestName, manifest)
	_, err := OpenStore(dir)
	if err == nil || !strings.Contains(err.Error(), `invalid pack name "../../outside.jsonl.gz"`) {
		t.Errorf("err = %v, want an invalid pack name error", err)
	}
}

func TestStoreAddRejectsBadStyle(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	f := writeFile(t, in, "a.txt", uniquePieces(1)[0])
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Add(AddRequest{Paths: []string{f}, Source: Source{Name: "s"},
		Style: "x<|endoftext|>", Options: DefaultOptions()})
	if err == nil || !strings.Contains(err.Error(), `"x<|endoftext|>"`) {
		t.Fatalf("err = %v, want an error naming the style", err)
	}
	if IsStore(dir) {
		t.Error("a rejected add created a manifest")
	}

	jl := writeFile(t, in, "b.jsonl", `{"text": "正文", "style": "坏 风格"}`+"\n")
	_, err = s.Add(AddRequest{Paths: []string{jl}, Source: Source{Name: "s"},
		Options: DefaultOptions()})
	if err == nil || !strings.Contains(err.Error(), jl+":1:") ||
		!strings.Contains(err.Error(), `"坏 风格"`) {
		t.Fatalf("err = %v, want an error naming the line and the style", err)
	}
}

func TestOpenStoreRejectsBadStyle(t *testing.T) {
	dir := t.TempDir()
	manifest := `{"version": 1, "sources": [{"name": "s", "license": "MIT"}], "documents": [
		{"sha256": "` + TextID("x") + `", "source": "s", "license": "MIT",
		"style": "a|>b", "pack": "p.jsonl.gz"}]}`
	writeFile(t, dir, ManifestName, manifest)
	_, err := OpenStore(dir)
	if err == nil || !strings.Contains(err.Error(), `style tag "a|>b"`) ||
		!strings.Contains(err.Error(), ManifestName) {
		t.Errorf("err = %v, want a style error naming the manifest", err)
	}
}
