// Opens a GEXF file the way Gephi Lite opens one (its file/utils.ts: graphology-gexf's
// parser, graphology's default Graph, these options) and prints the graph as JSON lines:
// first its type, order and size, then every node and every edge with its attributes.
"use strict";
const fs = require("fs");
const Graph = require("graphology");
const gexf = require("graphology-gexf");

const text = fs.readFileSync(process.argv[2], "utf8");
const g = gexf.parse(Graph, text, { allowUndeclaredAttributes: true, addMissingNodes: true });
const out = [JSON.stringify({ type: g.type, multi: g.multi, order: g.order, size: g.size })];
g.forEachNode((key, attrs) => out.push(JSON.stringify({ node: key, ...attrs })));
g.forEachEdge((key, attrs, source, target) =>
  out.push(JSON.stringify({ source, target, ...attrs })));
process.stdout.write(out.join("\n") + "\n");
