#pragma once
// The command-line logic of seqmix-run, as a function so tests and fuzzers can call it
// in-process.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "registry.hpp"

namespace seqmix::tool {

inline constexpr const char* usage_text =
    "usage: seqmix-run OP IN.safetensors OUT.safetensors [--form recurrent|chunked|parallel|direct|fft|blocked|auto]\n"
    "                  [--chunk C] [--threads N] [--dtype f32|f64] [--repeat N]\n"
    "       seqmix-run --mixer NAME IN.safetensors OUT.safetensors [--step] [--threads N] [--repeat N]\n"
    "       seqmix-run --list\n"
    "Runs one op of seqmix on the tensors of IN (F32 or F64; attributes in __metadata__) and writes\n"
    "'o' (and 'final_state' for ops with a state) to OUT. Exit status 2 on bad input.\n";

// Mixers register here (the composition work adds them); same contract as ops.
struct mixer_entry {
  std::string name;
  std::string description;
  // Reads IN, writes outputs into `out`; `step` runs token by token.
  std::function<void(const io::safetensors& in, io::safetensors& out, bool step, int repeat,
                     std::ostream& report)>
      run;
};
inline std::vector<mixer_entry>& mixer_table() {
  static std::vector<mixer_entry> table;
  return table;
}
inline bool register_mixer(mixer_entry e) {
  mixer_table().push_back(std::move(e));
  return true;
}

namespace detail {

struct bad_usage : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

inline int parse_count(const std::string& flag, const std::string& value, int min) {
  try {
    std::size_t used = 0;
    const long v = std::stol(value, &used);
    if (used == value.size() && v >= min && v <= 1000000) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw bad_usage(flag + " needs an integer >= " + std::to_string(min) + ", got '" + value + "'");
}

template <class T>
void run_op(const op_entry& e, const io::safetensors& in, const run_options& opt, int repeat,
            const std::string& out_path, std::ostream& report) {
  op_inputs<T> inputs(e.name, in);
  prepared_call<T> call;
  if constexpr (std::is_same_v<T, float>) call = e.prepare_f32(inputs, opt);
  else call = e.prepare_f64(inputs, opt);
  call.run();
  if (repeat > 0) {
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      call.run();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    char line[200];
    std::snprintf(line, sizeof line, "median_ms=%.4f gflops=%.3f tokens_per_s=%.1f\n", med,
                  med > 0 ? call.flops / (med * 1e6) : 0.0, med > 0 ? call.tokens / (med * 1e-3) : 0.0);
    report << line;
  }
  io::safetensors out;
  for (auto& [name, t] : inputs.outputs()) out.put(name, t);
  io::write_safetensors(out_path, out);
}

inline void list_ops(std::ostream& os) {
  for (const auto& e : op_table()) {
    os << e.name << "\n  inputs: " << e.inputs << "\n";
    if (!e.attributes.empty()) os << "  attributes: " << e.attributes << "\n";
    os << "  forms: auto";
    for (auto f : e.forms) os << ", " << to_string(f);
    os << "\n";
  }
  for (const auto& m : mixer_table()) os << "--mixer " << m.name << "\n  " << m.description << "\n";
}

}  // namespace detail

// Returns the process exit status.
inline int run_command_line(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string op_name;
  try {
    std::vector<std::string> pos;
    run_options opt;
    bool f64 = false, step = false, mixer = false;
    int repeat = 0;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&]() -> const std::string& {
        if (i + 1 >= args.size()) throw detail::bad_usage(a + " needs a value");
        return args[++i];
      };
      if (a == "--help" || a == "-h") {
        out << usage_text;
        return 0;
      } else if (a == "--list") {
        detail::list_ops(out);
        return 0;
      } else if (a == "--form") {
        const auto& v = value();
        auto f = parse_form(v);
        if (!f) throw detail::bad_usage("--form: unknown form '" + v + "'");
        opt.kernel_form = *f;
      } else if (a == "--chunk") {
        opt.chunk = detail::parse_count(a, value(), 1);
      } else if (a == "--threads") {
        opt.threads = detail::parse_count(a, value(), 1);
      } else if (a == "--repeat") {
        repeat = detail::parse_count(a, value(), 0);
      } else if (a == "--dtype") {
        const auto& v = value();
        if (v != "f32" && v != "f64") throw detail::bad_usage("--dtype must be f32 or f64, got '" + v + "'");
        f64 = v == "f64";
      } else if (a == "--step") {
        step = true;
      } else if (a == "--mixer") {
        mixer = true;
      } else if (a.size() > 1 && a[0] == '-' && a[1] == '-') {
        throw detail::bad_usage("unknown option " + a);
      } else {
        pos.push_back(a);
      }
    }
    if (pos.size() != 3) throw detail::bad_usage("expected OP IN OUT (see --help)");
    op_name = pos[0];
    if (opt.threads > 0) set_num_threads(opt.threads);

    if (mixer) {
      auto it = std::find_if(mixer_table().begin(), mixer_table().end(),
                             [&](const mixer_entry& m) { return m.name == op_name; });
      if (it == mixer_table().end()) throw detail::bad_usage("unknown mixer '" + op_name + "' (see --list)");
      const auto in = io::read_safetensors(pos[1]);
      io::safetensors result;
      it->run(in, result, step, repeat, out);
      io::write_safetensors(pos[2], result);
      return 0;
    }

    const op_entry* e = find_op(op_name);
    if (!e) throw detail::bad_usage("unknown op '" + op_name + "' (see --list)");
    check_form(*e, opt.kernel_form);
    const auto in = io::read_safetensors(pos[1]);
    if (f64) detail::run_op<double>(*e, in, opt, repeat, pos[2], out);
    else detail::run_op<float>(*e, in, opt, repeat, pos[2], out);
    return 0;
  } catch (const std::invalid_argument& ex) {  // shape_error, option_error, bad usage
    err << "seqmix-run: " << ex.what() << "\n";
    return 2;
  } catch (const format_error& ex) {
    err << "seqmix-run: " << ex.what() << "\n";
    return 2;
  } catch (const std::filesystem::filesystem_error& ex) {
    err << "seqmix-run: " << ex.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    err << "seqmix-run: " << (op_name.empty() ? "" : op_name + ": ") << "out of memory (inputs too large?)\n";
    return 2;
  } catch (const std::exception& ex) {
    err << "seqmix-run: internal error: " << ex.what() << "\n";
    return 1;
  }
}

}  // namespace seqmix::tool
