package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeJSON(t *testing.T, root, rel, content string) {
	t.Helper()
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readOutput(t *testing.T, path string) []line {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []line
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func TestRunTagsSkipsAndDrops(t *testing.T) {
	src := t.TempDir()
	writeJSON(t, src, "songci/ci.song.0.json", `[
		{"author": "范成大", "rhythmic": "浣溪沙", "paragraphs": ["白玉堂前绿绮疏。", "烛残歌罢困相扶。"]},
		{"author": "韩绛", "rhythmic": "踏莎行", "paragraphs": ["□□离宫，□棱斗焕。", "万家罗绮多游伴。"]}]`)
	writeJSON(t, src, "songci/author.song.json", `[{"name": "苏轼", "description": "北宋文学家。"}]`)
	writeJSON(t, src, "shijing/shijing.json",
		`[{"title": "关雎", "content": ["关关雎鸠，在河之洲。窈窕淑女，君子好逑。"]}]`)
	out := filepath.Join(t.TempDir(), "out.jsonl.gz")
	if err := run(src, out); err != nil {
		t.Fatal(err)
	}
	got := readOutput(t, out)
	want := []line{
		{Style: "诗经", Text: "关雎\n关关雎鸠，在河之洲。窈窕淑女，君子好逑。"},
		{Style: "宋词", Text: "浣溪沙\n范成大\n白玉堂前绿绮疏。\n烛残歌罢困相扶。"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d documents %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("document %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRunIsDeterministic(t *testing.T) {
	src := t.TempDir()
	writeJSON(t, src, "lunyu/lunyu.json", `[{"chapter": "学而篇", "paragraphs": ["子曰：学而时习之，不亦说乎？"]}]`)
	a := filepath.Join(t.TempDir(), "a.gz")
	b := filepath.Join(t.TempDir(), "b.gz")
	if err := run(src, a); err != nil {
		t.Fatal(err)
	}
	if err := run(src, b); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if string(da) != string(db) {
		t.Error("two runs on the same input wrote different bytes")
	}
}

func TestRunRejectsUnknownFile(t *testing.T) {
	src := t.TempDir()
	writeJSON(t, src, "tangshi/poet.json", `[{"title": "静夜思", "paragraphs": ["床前明月光。"]}]`)
	err := run(src, filepath.Join(t.TempDir(), "out.gz"))
	if err == nil || !strings.Contains(err.Error(), "tangshi/poet.json") {
		t.Errorf("err = %v, want a missing style rule error naming tangshi/poet.json", err)
	}
}

func TestRunRequiresSource(t *testing.T) {
	if err := run("", "out.gz"); err == nil || !strings.Contains(err.Error(), "CHINESE_POETRY_DIR") {
		t.Errorf("err = %v, want a hint to set CHINESE_POETRY_DIR", err)
	}
}
