#include "transport_setup.h"

#include "fl/secagg/identity.h"
#include "fl/transport_key.h"

namespace fl::coordinator {

int64_t ModelMessageBytes(uint64_t parameters) {
  // The largest legitimate message is a model or masked vector plus its envelope.
  return static_cast<int64_t>((parameters + 1) * 4 + kMaxEnvelopeBytes + 1024);
}

StatusOr<TransportOptions> CoordinatorTransportOptions(const CoordinatorOptions& options, Env& env) {
  TransportOptions t;
  t.max_message_bytes = ModelMessageBytes(options.max_model_parameters);
  if (options.transport_security != "curve") return t;
  t.security.curve = true;
  FL_ASSIGN_OR_RETURN(t.security.own, LoadTransportKey(env, options.secret_key));
  FL_ASSIGN_OR_RETURN(secagg::Roster roster, secagg::Roster::Load(env, options.roster));
  FL_ASSIGN_OR_RETURN(t.security.clients, TransportAllowList(roster));
  return t;
}

}  // namespace fl::coordinator
