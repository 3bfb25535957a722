//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// flattenJSONDir returns the documents of every .json file under dir, in
// path order. Each JSON object becomes one document: its string values
// and the strings of its string arrays, one per line, keys in sorted
// order. Nested objects become documents of their own.
func flattenJSONDir(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .json files under %s; pass the chinese-poetry folder", dir)
	}
	slices.Sort(paths)
	var docs []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		docs = appendDocs(docs, v)
	}
	return docs, nil
}

func appendDocs(docs []string, v any) []string {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			docs = appendDocs(docs, e)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var lines []string
		for _, k := range keys {
			switch y := x[k].(type) {
			case string:
				lines = append(lines, y)
			case []any:
				for _, e := range y {
					if s, ok := e.(string); ok {
						lines = append(lines, s)
					} else {
						docs = appendDocs(docs, e)
					}
				}
			case map[string]any:
				docs = appendDocs(docs, y)
			}
		}
		if len(lines) > 0 {
			docs = append(docs, strings.Join(lines, "\n"))
		}
	}
	return docs
}
