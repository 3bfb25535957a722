// Encodes each line of a text file with a Hugging Face tokenizer.json
// through the npm package `tokenizers` (tested with 0.23.2) and prints the
// ids of each line on its own output line, separated by spaces.
// Usage: node hf_check.cjs TOKENIZER.json TEXT.txt
const t = require("tokenizers");
const fs = require("fs");
const tok = t.Tokenizer.fromFile(process.argv[2]);
const lines = fs.readFileSync(process.argv[3], "utf8").split("\n");
(async () => {
  const out = await tok.encodeBatch(lines);
  process.stdout.write(out.map((e) => e.getIds().join(" ")).join("\n") + "\n");
})();
