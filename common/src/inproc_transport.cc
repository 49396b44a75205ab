#include "fl/inproc_transport.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

namespace fl {
namespace {

constexpr size_t kMaxQueued = 10000;  // like ZeroMQ's high-water mark

size_t Bytes(const std::vector<Frame>& frames) {
  size_t n = 0;
  for (const Frame& f : frames) n += f.size();
  return n;
}

// Events waiting for one transport; frames are decoded by the receiver.
class Mailbox {
 public:
  struct Item {
    TransportEvent::Kind kind;
    PeerId peer;
    std::vector<Frame> frames;
  };

  void Push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (items_.size() >= kMaxQueued) return;
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }

  std::optional<Item> Pop(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return std::nullopt;
    Item item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
};

class InProcServer;
class InProcClient;

}  // namespace

struct InProcNetwork::Hub {
  std::mutex mu;
  std::map<std::string, InProcServer*> servers;
  std::map<std::string, std::set<InProcClient*>> clients;  // by server name, linked or not
  uint64_t next_peer = 1;
};

namespace {

using Hub = InProcNetwork::Hub;

TransportEvent ToEvent(Mailbox::Item item) {
  TransportEvent ev;
  ev.kind = item.kind;
  ev.peer = std::move(item.peer);
  if (item.kind != TransportEvent::Kind::kMessage) return ev;
  StatusOr<Message> m = DecodeFrames(std::move(item.frames));
  if (m.ok()) {
    ev.message = std::move(m).value();
  } else {
    ev.kind = TransportEvent::Kind::kRejected;
    ev.status = m.status();
  }
  return ev;
}

class InProcServer final : public Transport {
 public:
  InProcServer(std::shared_ptr<Hub> hub, std::string name, TransportOptions o)
      : hub_(std::move(hub)), name_(std::move(name)), options_(o) {}
  ~InProcServer() override;

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override;
  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    std::optional<Mailbox::Item> item = mailbox_.Pop(timeout);
    if (!item) return std::nullopt;
    return ToEvent(std::move(*item));
  }
  std::string endpoint() const override { return "inproc://" + name_; }
  Status SetMaxMessageBytes(int64_t bytes) override {
    std::lock_guard<std::mutex> lock(hub_->mu);
    options_.max_message_bytes = bytes;
    return Status::Ok();
  }

  // Hub-locked helpers.
  void Link(InProcClient* c);
  void Deliver(const PeerId& from, std::vector<Frame> frames) {
    if (Bytes(frames) > static_cast<size_t>(options_.max_message_bytes)) return;  // dropped unread
    mailbox_.Push({TransportEvent::Kind::kMessage, from, std::move(frames)});
  }
  void Notify(TransportEvent::Kind kind, const PeerId& peer) { mailbox_.Push({kind, peer, {}}); }
  void Unlink(const PeerId& peer) { peers_.erase(peer); }

 private:
  std::shared_ptr<Hub> hub_;
  std::string name_;
  TransportOptions options_;
  Mailbox mailbox_;
  std::map<PeerId, InProcClient*> peers_;
};

class InProcClient final : public Transport {
 public:
  InProcClient(std::shared_ptr<Hub> hub, std::string name, TransportOptions o)
      : hub_(std::move(hub)), name_(std::move(name)), options_(o) {}
  ~InProcClient() override {
    std::lock_guard<std::mutex> lock(hub_->mu);
    hub_->clients[name_].erase(this);
    if (server_) {
      server_->Unlink(peer_);
      server_->Notify(TransportEvent::Kind::kDisconnected, peer_);
    }
  }

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    if (!peer.empty()) return InvalidArgument("a client transport sends only to its server");
    if (frames.empty()) return InvalidArgument("a message needs at least one frame");
    std::lock_guard<std::mutex> lock(hub_->mu);
    if (server_) {
      server_->Deliver(peer_, std::move(frames));
    } else if (outbox_.size() < kMaxQueued) {
      outbox_.push_back(std::move(frames));  // sent once a server is bound
    }
    return Status::Ok();
  }

  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    std::optional<Mailbox::Item> item = mailbox_.Pop(timeout);
    if (!item) return std::nullopt;
    item->peer = kServerPeer;
    return ToEvent(std::move(*item));
  }
  std::string endpoint() const override { return "inproc://" + name_; }
  Status SetMaxMessageBytes(int64_t bytes) override {
    std::lock_guard<std::mutex> lock(hub_->mu);
    options_.max_message_bytes = bytes;
    return Status::Ok();
  }

  // Hub-locked helpers.
  void Linked(InProcServer* server, PeerId peer) {
    server_ = server;
    peer_ = std::move(peer);
    mailbox_.Push({TransportEvent::Kind::kConnected, {}, {}});
    for (auto& frames : outbox_) server_->Deliver(peer_, std::move(frames));
    outbox_.clear();
  }
  void Unlinked() {
    server_ = nullptr;
    mailbox_.Push({TransportEvent::Kind::kDisconnected, {}, {}});
  }
  void Deliver(std::vector<Frame> frames) {
    if (Bytes(frames) > static_cast<size_t>(options_.max_message_bytes)) return;
    mailbox_.Push({TransportEvent::Kind::kMessage, {}, std::move(frames)});
  }

 private:
  std::shared_ptr<Hub> hub_;
  std::string name_;
  TransportOptions options_;
  Mailbox mailbox_;
  InProcServer* server_ = nullptr;
  PeerId peer_;
  std::deque<std::vector<Frame>> outbox_;
};

InProcServer::~InProcServer() {
  std::lock_guard<std::mutex> lock(hub_->mu);
  hub_->servers.erase(name_);
  for (auto& [peer, client] : peers_) client->Unlinked();
}

Status InProcServer::SendFrames(const PeerId& peer, std::vector<Frame> frames) {
  if (frames.empty()) return InvalidArgument("a message needs at least one frame");
  std::lock_guard<std::mutex> lock(hub_->mu);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return Unavailable("no connected peer " + peer);
  it->second->Deliver(std::move(frames));
  return Status::Ok();
}

void InProcServer::Link(InProcClient* c) {
  const PeerId peer = "inproc-peer-" + std::to_string(hub_->next_peer++);
  peers_[peer] = c;
  Notify(TransportEvent::Kind::kConnected, peer);
  c->Linked(this, peer);
}

}  // namespace

InProcNetwork::InProcNetwork() : hub_(std::make_shared<Hub>()) {}
InProcNetwork::~InProcNetwork() = default;

StatusOr<std::unique_ptr<Transport>> InProcNetwork::Listen(const std::string& name, const TransportOptions& options) {
  auto server = std::make_unique<InProcServer>(hub_, name, options);
  std::lock_guard<std::mutex> lock(hub_->mu);
  if (hub_->servers.count(name)) return Unavailable("cannot bind inproc://" + name + ": already bound");
  hub_->servers[name] = server.get();
  for (InProcClient* c : hub_->clients[name]) server->Link(c);
  return std::unique_ptr<Transport>(std::move(server));
}

StatusOr<std::unique_ptr<Transport>> InProcNetwork::Connect(const std::string& name, const TransportOptions& options) {
  auto client = std::make_unique<InProcClient>(hub_, name, options);
  std::lock_guard<std::mutex> lock(hub_->mu);
  hub_->clients[name].insert(client.get());
  if (auto it = hub_->servers.find(name); it != hub_->servers.end()) it->second->Link(client.get());
  return std::unique_ptr<Transport>(std::move(client));
}

}  // namespace fl
