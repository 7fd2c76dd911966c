// l7conform skywalking: SkyWalking segment JSON files → l7_flow_log records.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "output/record_writer.h"
#include "skywalking/segment_mapper.h"

namespace l7h::cli {

int skywalkingCommand(Args args) {
  std::vector<std::string> files;
  std::string output = "-";
  std::string format = "jsonl";
  ArgParser p("skywalking", "FILE... [-o OUT]",
              "Maps SkyWalking segments (the JSON the SkyWalking HTTP API takes: one SegmentObject or an\n"
              "array of them per file; '-' reads stdin) to l7_flow_log records, one per span, by the published\n"
              "SkyWalking mapping table. Problems are reported per segment and span on stderr; the other\n"
              "segments still map. Exit status 1 when anything could not be mapped.");
  p.positionals(&files, "FILE", "segment JSON files, or - for stdin");
  p.option("-o", &output, "OUT", "write records here (default stdout)");
  p.option("--format", &format, "jsonl|table", "JSON Lines (default) or a readable table");
  p.examples("  l7conform skywalking corpus/skywalking/java-http.json\n"
             "  curl -s http://agent/dump | l7conform skywalking -");
  int code = 0;
  if (!p.parse(args, code)) return code;
  if (files.empty()) {
    std::fprintf(stderr, "l7conform skywalking: give segment files or - (see --help)\n");
    return 2;
  }
  std::string error;
  auto writer = openRecordWriter(output, format == "table" ? OutputFormat::kTable : OutputFormat::kJsonLines, error);
  if (!writer) {
    std::fprintf(stderr, "l7conform skywalking: %s\n", error.c_str());
    return 1;
  }
  int status = 0;
  for (const std::string& file : files) {
    std::string body;
    if (file == "-") {
      body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "l7conform skywalking: %s: cannot read\n", file.c_str());
        status = 1;
        continue;
      }
      std::stringstream s;
      s << in.rdbuf();
      body = s.str();
    }
    const skywalking::MapResult result = skywalking::mapSegmentsJson(body);
    for (const auto& r : result.records) writer->write(r);
    for (const auto& e : result.errors) {
      std::fprintf(stderr, "%s: %s: %s\n", file.c_str(), e.where.c_str(), e.reason.c_str());
      status = 1;
    }
  }
  writer->flush();
  if (!writer->ok()) {
    std::fprintf(stderr, "l7conform skywalking: writing %s failed: %s\n", output == "-" ? "stdout" : output.c_str(),
                 writer->error().c_str());
    return 1;
  }
  return status;
}

}  // namespace l7h::cli
