package corpus

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Load opens a corpus: a store directory made by `goushi data add`, a
// plain UTF-8 (or GB18030, Big5, UTF-16) text file, or a folder of .txt,
// .md, .jsonl and .json files. The empty path means Embedded(). Files and
// folders are cleaned and deduplicated with DefaultOptions, and their
// documents get the file or folder name as source with licence "unknown".
// A corpus without documents is an error naming the path.
func Load(path string) (*Corpus, error) {
	if path == "" {
		return Embedded()
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load corpus %s: not found; name a store folder, a text "+
			"file or a folder of text files: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load corpus: %w", err)
	}
	var c *Corpus
	if st.IsDir() && IsStore(path) {
		s, err := OpenStore(path)
		if err != nil {
			return nil, fmt.Errorf("load corpus: %w", err)
		}
		c = s.Corpus()
	} else {
		c, err = loadFiles(path)
		if err != nil {
			return nil, fmt.Errorf("load corpus: %w", err)
		}
	}
	if len(c.Docs) == 0 {
		return nil, fmt.Errorf("load corpus %s: no documents; add text with "+
			"`goushi data add` or name a file with Chinese text", path)
	}
	return c, nil
}

func loadFiles(path string) (*Corpus, error) {
	files, err := expandPaths([]string{path})
	if err != nil {
		return nil, err
	}
	src := Source{Name: filepath.Base(filepath.Clean(path)), License: UnknownLicense}
	b := NewBuilder(DefaultOptions())
	for _, f := range files {
		recs, _, err := ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			b.Add(r, src.Name, "")
		}
	}
	return &Corpus{Docs: b.Docs, Sources: []Source{src}}, nil
}
