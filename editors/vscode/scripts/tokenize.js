// Tokenises policy files with the extension's TextMate grammar under VS Code's own engine
// (vscode-textmate on Oniguruma, the devDependencies) and prints, as JSON, every token that has
// no scope of its own or an `invalid` one: tests/test_highlighting.py expects none.
// Usage: node scripts/tokenize.js FILE...
"use strict";
const fs = require("fs");
const path = require("path");
const vt = require("vscode-textmate");
const onig = require("vscode-oniguruma");

const grammarPath = path.join(__dirname, "..", "syntaxes", "policy.tmLanguage.json");
const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
const onigLib = onig.loadWASM(wasm).then(() => ({
  createOnigScanner: (patterns) => new onig.OnigScanner(patterns),
  createOnigString: (text) => new onig.OnigString(text),
}));
const registry = new vt.Registry({
  onigLib,
  loadGrammar: async (scope) =>
    scope === "source.policy"
      ? vt.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
      : null,
});

registry.loadGrammar("source.policy").then((grammar) => {
  const found = [];
  for (const file of process.argv.slice(2)) {
    let state = vt.INITIAL;
    fs.readFileSync(file, "utf8").split(/\r?\n/).forEach((line, index) => {
      const result = grammar.tokenizeLine(line, state);
      state = result.ruleStack;
      for (const token of result.tokens) {
        const text = line.slice(token.startIndex, token.endIndex);
        const scope = token.scopes[token.scopes.length - 1];
        if (scope.startsWith("invalid") || (scope === "source.policy" && text.trim())) {
          found.push({ file, line: index + 1, text, scope });
        }
      }
    });
  }
  process.stdout.write(JSON.stringify(found) + "\n");
});
