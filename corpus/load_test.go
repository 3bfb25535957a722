package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPlainFile(t *testing.T) {
	p := uniquePieces(2)
	f := writeFile(t, t.TempDir(), "saved.txt", p[0]+"\n===\n"+p[1]+"\n===\n"+p[0])
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 2 {
		t.Fatalf("%d documents, want 2 after removing the repeat", len(c.Docs))
	}
	want := Source{Name: "saved.txt", License: UnknownLicense}
	if len(c.Sources) != 1 || c.Sources[0] != want {
		t.Errorf("sources = %+v, want [%+v]", c.Sources, want)
	}
	if c.Docs[0].Source != "saved.txt" {
		t.Errorf("document source = %q, want saved.txt", c.Docs[0].Source)
	}
}

func TestLoadFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mytexts")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := uniquePieces(3)
	writeFile(t, dir, "a.txt", p[0])
	writeFile(t, dir, "b.md", "# "+p[1])
	writeFile(t, filepath.Join(dir, "sub"), "c.jsonl", `{"text": "`+p[2]+`"}`)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 3 || c.Sources[0].Name != "mytexts" {
		t.Errorf("%d documents from source %q, want 3 from mytexts", len(c.Docs), c.Sources[0].Name)
	}
}

func TestLoadStore(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenStore(dir)
	src := Source{Name: "s", License: "MIT"}
	addFiles(t, s, src, writeFile(t, t.TempDir(), "a.txt", uniquePieces(1)[0]))
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 1 || len(c.Sources) != 1 || c.Sources[0] != src {
		t.Errorf("loaded %d documents and sources %+v, want 1 and [%+v]", len(c.Docs), c.Sources, src)
	}
}

func TestLoadEmptyIsErrorNamingPath(t *testing.T) {
	f := writeFile(t, t.TempDir(), "empty.txt", "  \n===\nab\n")
	_, err := Load(f)
	if err == nil || !strings.Contains(err.Error(), f) {
		t.Errorf("err = %v, want an error naming %s", err, f)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	_, err = Load(missing)
	if err == nil || !strings.Contains(err.Error(), missing+": not found") {
		t.Errorf("err = %v, want an error saying %s is not found", err, missing)
	}
}

func TestLoadEmptyPathIsEmbedded(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Source(ClassicalSource); !ok {
		t.Errorf("Load(\"\") sources = %+v, want the embedded ones", c.Sources)
	}
}
