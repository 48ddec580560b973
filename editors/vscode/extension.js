// Starts `policyc lsp` for .policy files (vscode-languageclient over stdio); the highlighting
// and the language configuration need no code and work without it.
"use strict";
const vscode = require("vscode");

let client;

async function activate(context) {
  const command = vscode.workspace.getConfiguration("policydsl").get("server.command", ["policyc", "lsp"]);
  if (!Array.isArray(command) || command.length === 0) {
    return;
  }
  let languageclient;
  try {
    languageclient = require("vscode-languageclient/node");
  } catch (err) {
    vscode.window.showWarningMessage("policydsl: run `npm install` in the extension's folder to use the language server");
    return;
  }
  const server = { command: command[0], args: command.slice(1), transport: languageclient.TransportKind.stdio };
  client = new languageclient.LanguageClient(
    "policydsl",
    "policydsl language server",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "policy" }, { scheme: "untitled", language: "policy" }],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.policy") },
    }
  );
  context.subscriptions.push(client);
  await client.start();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
