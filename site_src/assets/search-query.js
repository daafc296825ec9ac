// Chinese queries cut the way the index was cut, before Material's search worker sees them.
//
// Material 9.7 indexes Chinese text cut into words by jieba at build time, but its worker
// cuts a query greedily against the index and never keeps a run's last character: 细粒度
// became 细*, and 自助结账 did not reach RPC. The build writes search-words.json beside
// this file: every Chinese token of this language's index (jieba's words, the datasets'
// names and aliases, the other language's names and labels) and a few spelling variants.
//
// The hook: main.html loads this file before Material's bundle, so the Worker constructor
// can be wrapped; for the search worker only, a query message ({type: 2, data: the query},
// Material 9.7's SearchMessageType.QUERY) has its Chinese runs replaced by the words found
// in the list. Each word is written with a backslash between its characters: lunr's query
// lexer drops the backslashes (they escape the next character), and Material's own cutting
// sees one-character runs it leaves as they are, so the word reaches lunr whole. Nothing
// else in the message or the bundle is touched; with no word list, queries go through as
// typed. Same origin only: the list is fetched from this site.
//
// Zensical's worker (sku-survey build --engine zensical) takes the query as the `input` of
// an object ({type: 2, data: {input, ...}}), splits a text input at its separator and
// requires every term as a prefix; its compiler also takes a query tree instead of text
// (Zensical 0.0.73's search worker). The build cuts its index with jieba too
// (zensical_engine.py), so the query is sent as a tree of the same words; see
// rewriteZensical.
(function () {
  "use strict";
  var QUERY = 2;
  var NativeWorker = window.Worker;
  if (!NativeWorker) return;
  var script = document.currentScript;
  var listUrl = script ? new URL("search-words.json", script.src).href : null;
  var words = null; // Set of words, once loaded
  var maxLength = 1;
  var variants = {};
  // a Chinese run, with the lunr presence modifier (+ required, - excluded) written before it
  var han = /(^|\s)?([+-]?)(\p{Script=Han}+)/gu;

  // Fewest pieces; a character the list does not know costs more than a word, so known
  // words win. Returns the pieces in order.
  function cut(run) {
    var n = run.length;
    var cost = [0], from = [0];
    for (var i = 1; i <= n; i++) {
      cost[i] = cost[i - 1] + 3; from[i] = i - 1;
      for (var k = 2; k <= Math.min(maxLength, i); k++) {
        if (words.has(run.slice(i - k, i)) && cost[i - k] + 1 < cost[i]) {
          cost[i] = cost[i - k] + 1; from[i] = i - k;
        }
      }
    }
    var pieces = [];
    for (var j = n; j > 0; j = from[j]) pieces.unshift(run.slice(from[j], j));
    return pieces;
  }

  // Shorter known words inside a long one (jieba's search mode does the same), so 细粒度分类
  // also finds pages that have 细粒度 or 分类 alone.
  function inner(word) {
    var found = [];
    for (var len = word.length - 1; len >= 2; len--) {
      for (var i = 0; i + len <= word.length; i++) {
        var part = word.slice(i, i + len);
        if (words.has(part) && found.indexOf(part) === -1) found.push(part);
      }
    }
    return found;
  }

  function whole(word) {
    return Array.from(word).join("\\");
  }

  // Zensical: the query as its worker's own query tree. Every typed term is required, as
  // Zensical itself requires them (and ranks by); inside a term the alternatives are "or":
  // a Chinese run's words (as lunr treats them on the MkDocs site: 自助结账 finds what 自助
  // or 结账 finds) or a word's spelling variants. Each word is a prefix, as Zensical matches
  // typed terms. A query with nothing to add goes through as typed (its matches are then
  // highlighted; the tree's are not).
  function value(word) {
    return { type: "value", data: { field: "*", value: { type: "prefix", data: word } } };
  }
  function operator(name, operands) {
    return operands.length === 1 ? operands[0] : { type: "operator", data: { operator: name, operands: operands } };
  }
  function rewriteZensical(query) {
    if (!words) return query;
    var changed = false;
    var groups = [];
    query.split(/\s+/).forEach(function (term) {
      var parts = term.split(/(\p{Script=Han}+)/u).filter(Boolean);
      if (parts.length > 1) changed = true; // the index has its Chinese runs apart from what is around them
      parts.forEach(function (part) {
        var alternatives;
        if (/^\p{Script=Han}+$/u.test(part)) {
          var known = cut(part).filter(function (p) { return p.length > 1; });
          alternatives = known.length ? known : [part];
          if (known.length !== 1 || known[0] !== part) changed = true;
        } else {
          alternatives = [part].concat(variants[part.toLowerCase()] || []);
          if (alternatives.length > 1) changed = true;
        }
        // a variant of several words (self checkout) gives each as an alternative
        var alternativeWords = [];
        alternatives.forEach(function (a) {
          a.split(/\s+/).forEach(function (w) { if (alternativeWords.indexOf(w) === -1) alternativeWords.push(w); });
        });
        groups.push(operator("or", alternativeWords.map(value)));
      });
    });
    return changed && groups.length ? operator("and", groups) : query;
  }

  function rewrite(query) {
    if (!words) return query;
    var out = query.replace(han, function (match, space, modifier, run) {
      var pieces = cut(run);
      var known = pieces.filter(function (p) { return p.length > 1; });
      // characters the list does not know between known words are dropped: 自助结账 is
      // searched as 结账, not as 自* 助* (every word starting with 自); a run of unknown
      // characters only is left to Material (typing: 码 finds 码隆)
      if (!known.length) return match;
      var terms = [];
      known.forEach(function (p) {
        [p].concat(inner(p)).forEach(function (w) {
          if (terms.indexOf(w) === -1) terms.push(w);
        });
      });
      return " " + terms.map(function (w) { return modifier + whole(w); }).join(" ") + " ";
    });
    out = out.split(/\s+/).map(function (term) {
      var more = variants[term.toLowerCase()];
      return more ? [term].concat(more).join(" ") : term;
    }).join(" ");
    return out.trim();
  }

  var pending = []; // workers with a query waiting for the list: [worker, message]
  function load() {
    if (!listUrl) return;
    fetch(listUrl, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data && Array.isArray(data.words)) {
        words = new Set(data.words);
        data.words.forEach(function (w) { if (w.length > maxLength) maxLength = w.length; });
        (data.variants || []).forEach(function (group) {
          group.forEach(function (spelling) {
            variants[spelling] = group.filter(function (other) { return other !== spelling; });
          });
        });
      }
    }).catch(function () { /* no list: queries go through as typed */ }).then(function () {
      listUrl = null;
      pending.splice(0).forEach(function (item) { item[0].send(item[1]); });
    });
  }

  function SearchWorker(url, options) {
    var worker = new NativeWorker(url, options);
    if (!/workers\/search\.[^/]*\.js/.test(String(url))) return worker;
    var post = worker.postMessage;
    worker.send = function (message) {
      if (message && message.type === QUERY && typeof message.data === "string") {
        message = { type: QUERY, data: rewrite(message.data) };
      } else if (message && message.type === QUERY && message.data && typeof message.data.input === "string") {
        message = { type: QUERY, data: Object.assign({}, message.data, { input: rewriteZensical(message.data.input) }) };
      }
      return post.call(worker, message);
    };
    worker.postMessage = function (message, transfer) {
      if (message && message.type === QUERY && listUrl) {
        // the list is still loading: keep only the newest query until it is there
        pending = pending.filter(function (item) { return item[0] !== worker; });
        pending.push([worker, message]);
        return;
      }
      if (transfer !== undefined) return post.call(worker, message, transfer);
      return worker.send(message);
    };
    return worker;
  }
  SearchWorker.prototype = NativeWorker.prototype;
  window.Worker = SearchWorker;
  window.__skuSearchRewrite = function (query) { return rewrite(query); }; // for the tests
  load();
})();
