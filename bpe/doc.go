// Package bpe is goushi's byte-level BPE tokenizer: a trainer, an encoder,
// a streaming-safe decoder and the tokenizer file formats.
//
// Ids 0..255 are the bytes, so any byte string encodes and decodes back
// exactly. Ids from 256 on are the merges in the order they were learned,
// and special tokens such as EndOfText and the style tags "<|style:TAG|>"
// come last. Text is first cut into pre-tokens (see PreTokenize) and merges never
// cross a pre-token boundary.
//
// Train learns the merges. Encode applies them by rank and never produces
// a special id, so user text cannot inject a control token;
// EncodeWithSpecials turns named specials into their ids. Decode returns
// the exact bytes, and a StreamDecoder emits text one id at a time without
// ever splitting a UTF-8 character.
//
// Save and Load use a small versioned text format (see Tokenizer.WriteTo);
// WriteHFJSON and ReadHFJSON exchange the vocabulary with Hugging Face
// tokenizers. The package imports nothing from the rest of goushi.
package bpe
