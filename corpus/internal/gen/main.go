// Command gen flattens the chinese-poetry 2.0.1 JSON files into the
// classical part of the embedded corpus: one gzip-compressed JSON Lines
// file with a "style" and a "text" per document, cleaned and deduplicated
// like `goushi data add` does. Run it through `go generate ./corpus` with
// CHINESE_POETRY_DIR set to the package's dist folder, which
// `npm pack chinese-poetry@2.0.1` unpacks.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goushi/goushi/corpus"
)

// styleRule tags the files whose slash-separated path, relative to the
// source folder, starts with prefix. The first matching rule wins, and the
// empty style skips the file.
type styleRule struct {
	prefix     string
	style      string
	skipReason string // printed when the file is skipped
}

var styleRules = []styleRule{
	{prefix: "songci/author.song.json", skipReason: "author biographies"},
	{prefix: "songci/", style: "宋词"},
	{prefix: "yuanqu/", style: "元曲"},
	{prefix: "shijing/", style: "诗经"},
	{prefix: "lunyu/", style: "论语"},
	{prefix: "chuci/", style: "楚辞"},
	{prefix: "caocaoshiji/", style: "古诗"},
	{prefix: "nalanxingde/", style: "清词"},
	{prefix: "wudaishici/huajianji/", style: "花间集"},
	{prefix: "wudaishici/nantang/poetrys.json", style: "南唐词"},
	{prefix: "wudaishici/nantang/", skipReason: "author biographies and introduction"},
	{prefix: "sishuwujing/", style: "四书"},
	{prefix: "shuimotangshi/", style: "唐诗"},
	{prefix: "mengxue/tangshisanbaishou.json", style: "唐诗"},
	{prefix: "mengxue/qianjiashi.json", style: "古诗"},
	{prefix: "mengxue/guwenguanzhi.json", style: "古文"},
	{prefix: "mengxue/wenzimengqiu.json", skipReason: "glyph placeholders (●) in place of ancient forms"},
	{prefix: "mengxue/sanzijing-traditional.json", skipReason: "same text as sanzijing-new.json"},
	{prefix: "mengxue/", style: "蒙学"},
	{prefix: "youmengying/", style: "清言"},
	// The full dist folder of the npm package also has these folders,
	// which the embedded subset leaves out.
	{prefix: "quantangshi/", skipReason: "全唐诗 in traditional characters"},
	{prefix: "yudingquantangshi/", skipReason: "御定全唐诗 in traditional characters"},
	{prefix: "strains/", skipReason: "tone patterns, not text"},
	{prefix: "rank/", skipReason: "popularity ranks, not text"},
}

// missingGlyphs mark characters the digitizers could not enter. A work
// that contains one is dropped so the model does not learn the mark.
const missingGlyphs = "□●"

type line struct {
	Style string `json:"style"`
	Text  string `json:"text"`
}

func main() {
	src := flag.String("src", "", "dist folder of chinese-poetry 2.0.1")
	out := flag.String("out", "embedded/classical.jsonl.gz", "output file")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	if src == "" {
		return errors.New("missing -src; set CHINESE_POETRY_DIR to the dist folder " +
			"of chinese-poetry 2.0.1 (npm pack chinese-poetry@2.0.1)")
	}
	files, err := listJSON(src)
	if err != nil {
		return err
	}
	b := corpus.NewBuilder(corpus.DefaultOptions())
	missing := 0
	for _, rel := range files {
		rule, ok := ruleFor(rel)
		if !ok {
			return fmt.Errorf("%s: no style rule for this file; add one to styleRules", rel)
		}
		if rule.style == "" {
			fmt.Fprintf(os.Stderr, "skip %s: %s\n", rel, rule.skipReason)
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		recs, err := corpus.ParsePoetryJSON(rel, string(data))
		if err != nil {
			return err
		}
		for _, r := range recs {
			if strings.ContainsAny(r.Text, missingGlyphs) {
				missing++
				continue
			}
			b.Add(r, "chinese-poetry", rule.style)
		}
	}
	fmt.Fprintf(os.Stderr, "%s; dropped %d with missing-glyph marks\n", b.Report.Summary(), missing)
	return write(out, b.Docs)
}

func listJSON(src string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(path, ".json") {
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func ruleFor(rel string) (styleRule, bool) {
	for _, r := range styleRules {
		if strings.HasPrefix(rel, r.prefix) {
			return r, true
		}
	}
	return styleRule{}, false
}

// write stores the documents as gzip-compressed JSON Lines. The gzip
// header carries no name or time, so the same input gives the same bytes.
func write(out string, docs []corpus.Document) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	perStyle := map[string][2]int{}
	for _, d := range docs {
		if err := enc.Encode(line{Style: d.Style, Text: d.Text}); err != nil {
			return err
		}
		c := perStyle[d.Style]
		perStyle[d.Style] = [2]int{c[0] + 1, c[1] + len(d.Text)}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	styles := make([]string, 0, len(perStyle))
	for s := range perStyle {
		styles = append(styles, s)
	}
	sort.Strings(styles)
	for _, s := range styles {
		fmt.Fprintf(os.Stderr, "%s\t%d documents\t%d bytes\n", s, perStyle[s][0], perStyle[s][1])
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d documents, %d bytes compressed\n", out, len(docs), buf.Len())
	return corpus.WriteFileAtomic(out, buf.Bytes())
}
