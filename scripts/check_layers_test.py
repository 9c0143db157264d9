#!/usr/bin/env python3
"""Tests of scripts/check_layers.py (ctest: layers_check_selftest): small trees with one planted
violation each must fail, naming file and line; clean ones must pass."""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_layers  # noqa: E402

CMAKE = """stargate_layer(stargate_base base DEPS Boost::headers)
stargate_layer(stargate_crypto crypto DEPS stargate_base stargate_proto)
stargate_layer(stargate_nats_sealed nats/sealed DEPS stargate_crypto)
"""


class CheckLayersTest(unittest.TestCase):
    def run_on(self, files, cmake=CMAKE):
        with tempfile.TemporaryDirectory() as root:
            tree = dict(files)
            tree.setdefault("src/base/bytes.hpp", "#pragma once\n#include <vector>\n")
            tree["src/CMakeLists.txt"] = cmake
            for rel, text in tree.items():
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = check_layers.main(["check_layers.py", root])
            return rc, out.getvalue()

    def assert_fails(self, files, *expected, cmake=CMAKE):
        rc, out = self.run_on(files, cmake)
        self.assertEqual(rc, 1, out)
        for text in expected:
            self.assertIn(text, out)

    def test_clean_tree_passes(self):
        rc, out = self.run_on({
            "src/crypto/noise/cipher_state.hpp": '#pragma once\n#include "base/bytes.hpp"\n',
            "src/nats/sealed/table.cpp": '#include "crypto/noise/cipher_state.hpp"\n'
                                         "// std::chrono::steady_clock::now() in a comment is fine\n"
                                         'const char* s = "time(nullptr)";\nint n = 1\'000;\n',
            "src/base/timer_io.hpp": "#pragma once\n#include <boost/asio/steady_timer.hpp>\n"
                                     "auto t = std::chrono::steady_clock::now();\n",
        })
        self.assertEqual(rc, 0, out)

    def test_asio_include_in_sans_io_file_fails(self):
        self.assert_fails({"src/crypto/bad.cpp": "#include <vector>\n#include <boost/asio/post.hpp>\n"},
                          "src/crypto/bad.cpp:2:", "boost/asio/post.hpp")

    def test_beast_include_through_a_project_header_fails(self):
        self.assert_fails({
            "src/base/http_io.hpp": "#pragma once\n#include <boost/beast/http.hpp>\n",
            "src/base/uses_it.hpp": '#pragma once\n\n#include "base/http_io.hpp"\n',
        }, "src/base/uses_it.hpp:3:", "boost/beast/http.hpp")

    def test_clock_reads_in_sans_io_files_fail(self):
        self.assert_fails({"src/nats/sealed/a.cpp": "auto t = std::chrono::system_clock::now();\n"},
                          "src/nats/sealed/a.cpp:1:", "system_clock::now")
        self.assert_fails({"src/p2p/yamux/b.cpp": "\n\nusing Clock = X;\nauto t = Clock::now();\n"},
                          "src/p2p/yamux/b.cpp:4:")
        self.assert_fails({"src/base/c.cpp": "long t = std::time(nullptr);\n"}, "src/base/c.cpp:1:")
        self.assert_fails({"src/crypto/d.cpp": "timespec ts; int r = clock_gettime(CLOCK_MONOTONIC, &ts);\n"},
                          "src/crypto/d.cpp:1:", "clock_gettime")

    def test_layer_including_a_layer_above_it_fails(self):
        self.assert_fails({
            "src/p2p/host/host.hpp": "#pragma once\n",
            "src/crypto/e.cpp": '#include "p2p/host/host.hpp"\n',
        }, "src/crypto/e.cpp:1:", "layer crypto includes \"p2p/host/host.hpp\" of layer p2p")

    def test_nats_including_p2p_fails(self):
        self.assert_fails({
            "src/p2p/noise/cipher_state.hpp": "#pragma once\n",
            "src/nats/client.cpp": '#include "p2p/noise/cipher_state.hpp"\n',
        }, "src/nats/client.cpp:1:", "layer nats includes")

    def test_public_api_including_src_fails(self):
        self.assert_fails({"include/stargate/node.hpp": '#pragma once\n#include "base/bytes.hpp"\n'},
                          "include/stargate/node.hpp:2:", "layer api includes")

    def test_cmake_linking_upwards_fails(self):
        self.assert_fails({}, "src/CMakeLists.txt:2:", "stargate_crypto links stargate_p2p",
                          cmake=CMAKE.replace("stargate_base stargate_proto", "stargate_base stargate_p2p"))

    def test_file_of_no_layer_fails(self):
        self.assert_fails({"src/mystery/x.cpp": "int x;\n"}, "src/mystery/x.cpp:1: belongs to no layer")


if __name__ == "__main__":
    unittest.main()
