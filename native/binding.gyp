{
  "targets": [
    {
      "target_name": "bnn_onednn",
      "sources": ["src/addon.cc", "src/common.cc", "src/conv.cc", "src/matmul.cc", "src/binarize.cc", "src/popcount.cc",
                  "src/norm.cc", "src/eltwise.cc", "src/split.cc", "src/pool.cc", "src/reduce.cc", "src/async.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node dnnl-paths.cjs include)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fopenmp", "-O2", "-ffp-contract=off"],
      "libraries": ["<!@(node dnnl-paths.cjs lib)", "-ldnnl", "-fopenmp"]
    }
  ]
}
