#!/usr/bin/env python3
"""Checks the layering of src/ and include/ (docs/architecture.md, "Layers"); run by ctest as
layers_check. Fails, naming file and line, when

  * a sans-IO file includes an Asio or Beast header (directly, or through a project header that
    does) or reads a clock: sans-IO files are every file not named *_io.* under src/base,
    src/crypto, src/p2p/{multistream,noise,yamux,protocols,pool}, src/p2p/envelope.* and
    src/nats/sealed. Time and randomness are arguments there, so tests and fuzzers drive them;
  * a file includes a header of a layer it may not use (one above it, or beside it);
  * a layer's CMake target (src/CMakeLists.txt) links a layer it may not use.

Usage: check_layers.py [REPO_ROOT]   (default: the parent of this script's directory)
Python 3 standard library only.
"""
import os
import re
import sys

# What each layer may use besides itself (the transitive closure is taken), as src/CMakeLists.txt
# links them: base -> crypto -> p2p_core / nats_sealed -> p2p -> nats -> agent -> cli, with metrics
# -> http beside them. `api` is include/stargate, the public API that the agent implements, but for
# `api_types`: plain types of that API which a lower layer implements (the resource manager's
# limits, p2p). Neither includes anything of src/. nats does not use p2p: both stand on crypto
# (whose crypto/noise is the Noise core they share).
LAYERS = {
    "base": [],
    "crypto": ["base"],
    "p2p_core": ["crypto"],
    "nats_sealed": ["crypto"],
    "api_types": [],
    "p2p": ["p2p_core", "api_types"],
    "nats": ["nats_sealed"],
    "metrics": ["base"],
    "http": ["metrics"],
    "api": ["api_types"],
    "agent_core": ["crypto", "api"],
    "agent": ["agent_core", "p2p", "nats", "http", "api"],
    "cli": ["agent"],
}
# Targets the layers link that are not layers (generated code).
NOT_LAYERS = {"proto"}

# Files of src/p2p that belong to the I/O layer (stargate_p2p), as STARGATE_IO_REGEX says.
P2P_IO = re.compile(r"^src/p2p/(host|tcp)/|_io\.[^/]*$")
# The agent's sans-IO codecs (stargate_agent_core), as STARGATE_AGENT_CORE_REGEX says.
AGENT_CORE = re.compile(r"^src/agent/(jsonrpc|announcement|control_request)\.[^/]*$")
API_TYPES = {"include/stargate/resource_limits.hpp"}
SANS_IO_DIRS = ("src/base/", "src/crypto/", "src/p2p/multistream/", "src/p2p/noise/", "src/p2p/yamux/",
                "src/p2p/protocols/", "src/p2p/pool/", "src/p2p/envelope.", "src/nats/sealed/")
IO_NAME = re.compile(r"_io\.[^/]*$")
SOURCE_EXTENSIONS = (".cpp", ".cc", ".hpp", ".h", ".ipp")

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
ASIO_HEADER = re.compile(r"^boost/(asio|beast)(/|\.hpp$)")
CLOCK_READS = [
    (re.compile(r"\b\w*[Cc]lock\s*::\s*now\s*\("), "reads a clock ({})"),
    (re.compile(r"(?:\bstd\s*)?::\s*time\s*\(|(?<![\w.>:])time\s*\(\s*(?:nullptr|NULL|0|&)"), "reads the time ({})"),
    (re.compile(r"\b(?:clock_gettime|gettimeofday|timespec_get)\s*\("), "reads a clock ({})"),
    (re.compile(r"(?:\bstd\s*)?::\s*clock\s*\(\s*\)"), "reads a clock ({})"),
]


def layer_of(rel):
    """The layer a repository-relative path belongs to, or None (not project code)."""
    if rel.startswith("include/stargate/"):
        return "api_types" if rel in API_TYPES else "api"
    if not rel.startswith("src/"):
        return None
    top = rel.split("/")[1]
    if top == "p2p":
        return "p2p" if P2P_IO.search(rel) else "p2p_core"
    if top == "nats":
        return "nats_sealed" if rel.startswith("src/nats/sealed/") else "nats"
    if top == "agent":
        return "agent_core" if AGENT_CORE.match(rel) else "agent"
    if top in LAYERS:
        return top
    return "?"


def is_sans_io(rel):
    return rel.startswith(SANS_IO_DIRS) and not IO_NAME.search(rel)


def allowed_layers():
    closure = {}

    def visit(layer):
        if layer not in closure:
            closure[layer] = {layer}
            for dep in LAYERS[layer]:
                closure[layer] |= visit(dep)
        return closure[layer]

    for layer in LAYERS:
        visit(layer)
    return closure


def strip(text):
    """Returns (code without comments, code without comments and string/char literals), both the
    length of `text` with its newlines kept, so that offsets give line numbers."""
    no_comments, no_literals = [], []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank = " " * (end - i)
            no_comments.append(blank)
            no_literals.append(blank)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank = re.sub(r"[^\n]", " ", text[i:end])
            no_comments.append(blank)
            no_literals.append(blank)
            i = end
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            open_paren = text.find("(", i + 2)
            delimiter = text[i + 2:open_paren] if open_paren >= 0 else ""
            end = text.find(")" + delimiter + '"', open_paren + 1) if open_paren >= 0 else -1
            end = n if end < 0 else end + len(delimiter) + 2
            no_comments.append(text[i:end])
            no_literals.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == "'" and starts_number(text, i):  # a digit separator (1'000), not a literal
            no_comments.append(c)
            no_literals.append(c)
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            end = min(j + 1, n)
            no_comments.append(text[i:end])
            no_literals.append(c + " " * max(end - i - 2, 0) + (c if end - i >= 2 else ""))
            i = end
        else:
            no_comments.append(c)
            no_literals.append(c)
            i += 1
    return "".join(no_comments), "".join(no_literals)


def starts_number(text, i):
    """True when the ' at `i` is inside a number token (C++14 digit separator)."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_'"):
        j -= 1
    return j < i and text[j].isdigit()


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


class Tree:
    def __init__(self, root):
        self.root = root
        self.files = {}  # rel -> (includes [(line, spelled, resolved rel or None)], code without literals)
        for top in ("src", "include"):
            for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
                dirnames.sort()
                for name in sorted(filenames):
                    if name.endswith(SOURCE_EXTENSIONS):
                        path = os.path.join(dirpath, name)
                        self.files[os.path.relpath(path, root).replace(os.sep, "/")] = None
        for rel in list(self.files):
            self.files[rel] = self.parse(rel)
        self.asio_memo = {}

    def parse(self, rel):
        with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        no_comments, no_literals = strip(text)
        includes = []
        for m in INCLUDE.finditer(no_comments):
            spelled = m.group(2).strip()
            includes.append((line_of(no_comments, m.start()), spelled, self.resolve(rel, spelled)))
        return includes, no_literals

    def resolve(self, rel, spelled):
        for base in ("src", "include", os.path.dirname(rel)):
            candidate = os.path.normpath(os.path.join(base, spelled)).replace(os.sep, "/")
            if candidate in self.files:
                return candidate
        return None

    def asio_chain(self, rel, visiting=None):
        """The include chain from `rel` to an Asio/Beast header, or None."""
        if rel in self.asio_memo:
            return self.asio_memo[rel]
        visiting = visiting or set()
        if rel in visiting:
            return None
        visiting.add(rel)
        chain = None
        for _, spelled, resolved in self.files[rel][0]:
            if ASIO_HEADER.match(spelled):
                chain = [spelled]
                break
            if resolved is not None:
                below = self.asio_chain(resolved, visiting)
                if below:
                    chain = [spelled] + below
                    break
        self.asio_memo[rel] = chain
        return chain


def check_sources(tree, allowed):
    problems = []
    for rel, (includes, code) in sorted(tree.files.items()):
        layer = layer_of(rel)
        if layer == "?":
            problems.append(f"{rel}:1: belongs to no layer: add its directory to LAYERS in scripts/check_layers.py "
                            "(and to src/CMakeLists.txt)")
            continue
        sans_io = is_sans_io(rel)
        for line, spelled, resolved in includes:
            if sans_io and ASIO_HEADER.match(spelled):
                problems.append(f"{rel}:{line}: sans-IO file includes <{spelled}> (Asio-bound code goes in a file "
                                "named *_io.*, or time and I/O come in as arguments)")
            if resolved is None:
                continue
            if sans_io:
                chain = tree.asio_chain(resolved)
                if chain:
                    problems.append(f"{rel}:{line}: sans-IO file includes \"{spelled}\", which brings in Asio/Beast "
                                    f"(via {' -> '.join(chain)})")
            target = layer_of(resolved)
            if target is not None and target != "?" and target not in allowed[layer]:
                may = ", ".join(sorted(allowed[layer] - {layer})) or "nothing"
                problems.append(f"{rel}:{line}: layer {layer} includes \"{spelled}\" of layer {target}; "
                                f"{layer} may use only: {may}")
        if sans_io:
            for pattern, message in CLOCK_READS:
                for m in pattern.finditer(code):
                    what = re.sub(r"\s+", "", m.group(0))
                    what += ")" if what.endswith("(") else ""
                    problems.append(f"{rel}:{line_of(code, m.start())}: sans-IO file {message.format(what)}; "
                                    "take `now` as an argument")
    return problems


LAYER_CALL = re.compile(r"stargate_layer\s*\(([^)]*)\)", re.S)


def check_cmake(root, allowed):
    """Each stargate_layer(stargate_<layer> ... DEPS ...) links only layers it may use."""
    path = os.path.join(root, "src", "CMakeLists.txt")
    if not os.path.exists(path):
        return [], []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    no_comments = re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), text)
    problems, notes = [], []
    for m in LAYER_CALL.finditer(no_comments):
        words = m.group(1).split()
        if not words or not words[0].startswith("stargate_"):
            continue
        layer = words[0][len("stargate_"):]
        line = line_of(no_comments, m.start())
        if layer not in LAYERS:
            notes.append(f"src/CMakeLists.txt:{line}: library {words[0]} is not in LAYERS (not checked)")
            continue
        deps = words[words.index("DEPS") + 1:] if "DEPS" in words else []
        for dep in deps:
            if not dep.startswith("stargate_"):
                continue
            name = dep[len("stargate_"):]
            if name in NOT_LAYERS:
                continue
            if name not in LAYERS:
                notes.append(f"src/CMakeLists.txt:{line}: {words[0]} links {dep}, not in LAYERS (not checked)")
            elif name == layer or name not in allowed[layer]:
                problems.append(f"src/CMakeLists.txt:{line}: {words[0]} links {dep}; layer {layer} may use only: "
                                f"{', '.join(sorted(allowed[layer] - {layer})) or 'nothing'}")
    return problems, notes


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    allowed = allowed_layers()
    tree = Tree(root)
    problems = check_sources(tree, allowed)
    cmake_problems, notes = check_cmake(root, allowed)
    problems += cmake_problems
    for note in notes:
        print(note)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_layers: {len(problems)} violation(s) in {len(tree.files)} files "
              "(layers and the sans-IO rule: docs/architecture.md, \"Layers\")")
        return 1
    print(f"check_layers: {len(tree.files)} files, no violation")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
