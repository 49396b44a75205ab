#include "hospital_data.h"

#include "fl/config_reader.h"
#include "fl/env.h"
#include "fl/log.h"

namespace fl::worker {
namespace {

std::string PreprocessingPath(const WorkerOptions& o) { return o.state_dir + "/preprocessing.json"; }

}  // namespace

StatusOr<data::Split> LoadHospitalData(const WorkerOptions& o) {
  data::CsvReport report;
  FL_ASSIGN_OR_RETURN(data::Split split, LoadData(o.data, &report));
  if (o.data.format == "csv" && !o.state_dir.empty()) {
    Env& env = Env::Default();
    FL_RETURN_IF_ERROR(env.MakeDirs(o.state_dir));
    const nlohmann::json j = data::PreprocessingToJson(data::PreprocessingOf(o.data.csv, report));
    FL_RETURN_IF_ERROR(env.WriteFile(PreprocessingPath(o), j.dump(1) + "\n"));
    FL_LOG(kInfo) << "kept this hospital's preprocessing in " << PreprocessingPath(o);
  }
  return split;
}

StatusOr<data::TablePreprocessing> HospitalPreprocessing(const WorkerOptions& o) {
  if (o.data.format != "csv") return InvalidArgument("only a table (data format csv) has a table preprocessing");
  if (!o.state_dir.empty() && Env::Default().FileExists(PreprocessingPath(o))) {
    FL_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonFile(PreprocessingPath(o)));
    return data::PreprocessingFromJson(j, PreprocessingPath(o));
  }
  FL_LOG(kInfo) << "no saved preprocessing" << (o.state_dir.empty() ? "" : " in " + o.state_dir)
                << ": computing it from the training data";
  data::CsvReport report;
  FL_RETURN_IF_ERROR(LoadData(o.data, &report).status());
  return data::PreprocessingOf(o.data.csv, report);
}

}  // namespace fl::worker
