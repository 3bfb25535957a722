// Package corpus collects Chinese text with its provenance, cleans it, and
// ships the default corpus that is built into the goushi binary.
//
// A corpus is a list of documents. Each document carries a style tag (for
// example 抽象 or 宋词) that training can prepend as a special token, and
// the name of the source it came from. Every source records its URL,
// licence and author, so that the credits can travel with a trained model.
//
// The package reads plain text, Markdown, JSON Lines and the JSON layout of
// the chinese-poetry collection, detects legacy Chinese encodings, cleans
// and deduplicates documents, and keeps them in a store directory whose
// manifest is replaced atomically on every change. It imports nothing from
// the rest of the project.
package corpus
