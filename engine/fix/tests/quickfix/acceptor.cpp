// A QuickFIX FIX.4.4 acceptor for lockstep-fix's interop test (tests/integration/quickfix.rs).
// Usage: acceptor <config file>. Prints READY once listening. Answers NewOrderSingle with an
// ExecutionReport New and then a fill (one unit when the quantity is above one, else all of it),
// OrderCancelRequest with ExecutionReport Canceled or OrderCancelReject for unknown/closed
// orders. Exits 0 after the peer logs out, 2 if any session-level Reject or
// BusinessMessageReject was sent or received, 3 on a 60 s time-out.
#include <quickfix/Application.h>
#include <quickfix/Message.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

namespace {

struct Order {
  std::string orderId, clOrdId, symbol, side, price;
  long long qty = 0, cum = 0;
  bool open = true;
};

class App : public FIX::Application {
public:
  std::atomic<int> rejects{0};
  std::atomic<bool> loggedOn{false};
  std::atomic<bool> done{false};

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override {
    loggedOn = true;
    std::printf("LOGON\n");
    std::fflush(stdout);
  }
  void onLogout(const FIX::SessionID&) override {
    std::printf("LOGOUT\n");
    std::fflush(stdout);
    if (loggedOn) done = true;
  }
  void toAdmin(FIX::Message& m, const FIX::SessionID&) override { note("sent", m); }
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message& m, const FIX::SessionID&) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
      FIX::RejectLogon) override {
    note("received", m);
  }
  void fromApp(const FIX::Message& m, const FIX::SessionID& id) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
      FIX::UnsupportedMessageType) override {
    note("received", m);
    const std::string type = m.getHeader().getField(35);
    if (type == "D") newOrder(m, id);
    else if (type == "F") cancel(m, id);
    else throw FIX::UnsupportedMessageType();
  }

private:
  std::map<std::string, Order> orders;
  int nextId = 1;

  void note(const char* dir, const FIX::Message& m) {
    const std::string type = m.getHeader().getField(35);
    std::string text = m.toString();
    for (char& c : text) if (c == '\x01') c = '|';
    std::printf("%s %s\n", dir, text.c_str());
    if (type == "3" || type == "j") {
      ++rejects;
      std::printf("REJECT %s\n", dir);
    }
    std::fflush(stdout);
  }

  std::string id(const char* prefix) { return prefix + std::to_string(nextId++); }

  void report(const Order& o, const FIX::SessionID& sid, const std::string& clOrdId,
              const char* execType, const char* status, long long lastQty,
              const std::string& orig) {
    FIX::Message r;
    r.getHeader().setField(35, "8");
    r.setField(37, o.orderId);
    r.setField(11, clOrdId);
    if (!orig.empty()) r.setField(41, orig);
    r.setField(17, id("E"));
    r.setField(150, execType);
    r.setField(39, status);
    r.setField(55, o.symbol);
    r.setField(54, o.side);
    r.setField(38, std::to_string(o.qty));
    r.setField(44, o.price);
    r.setField(32, std::to_string(lastQty));
    r.setField(31, lastQty > 0 ? o.price : "0");
    r.setField(151, std::to_string(o.open ? o.qty - o.cum : 0));
    r.setField(14, std::to_string(o.cum));
    r.setField(6, o.cum > 0 ? o.price : "0");
    FIX::Session::sendToTarget(r, sid);
  }

  void newOrder(const FIX::Message& m, const FIX::SessionID& sid) {
    Order o;
    o.orderId = id("O");
    o.clOrdId = m.getField(11);
    o.symbol = m.getField(55);
    o.side = m.getField(54);
    o.price = m.getField(44);
    o.qty = std::stoll(m.getField(38));
    report(o, sid, o.clOrdId, "0", "0", 0, "");
    long long fill = o.qty > 1 ? 1 : o.qty;
    o.cum = fill;
    o.open = o.cum < o.qty;
    report(o, sid, o.clOrdId, "F", o.open ? "1" : "2", fill, "");
    orders[o.clOrdId] = o;
  }

  void cancel(const FIX::Message& m, const FIX::SessionID& sid) {
    const std::string orig = m.getField(41), cl = m.getField(11);
    auto it = orders.find(orig);
    if (it == orders.end() || !it->second.open) {
      FIX::Message r;
      r.getHeader().setField(35, "9");
      r.setField(37, it == orders.end() ? "NONE" : it->second.orderId);
      r.setField(11, cl);
      r.setField(41, orig);
      r.setField(39, it == orders.end() ? "8" : "2");
      r.setField(434, "1");
      r.setField(102, it == orders.end() ? "1" : "0");
      r.setField(58, it == orders.end() ? "unknown order" : "too late to cancel");
      FIX::Session::sendToTarget(r, sid);
      return;
    }
    Order o = it->second;
    orders.erase(it);
    o.open = false;
    o.clOrdId = cl;
    report(o, sid, cl, "4", "4", 0, orig);
    orders[cl] = o;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: acceptor <config>\n");
    return 64;
  }
  try {
    FIX::SessionSettings settings(argv[1]);
    App app;
    FIX::MemoryStoreFactory store;
    FIX::SocketAcceptor acceptor(app, store, settings);
    acceptor.start();
    std::printf("READY\n");
    std::fflush(stdout);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!app.done && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    acceptor.stop();
    std::printf("REJECTS %d\n", app.rejects.load());
    std::fflush(stdout);
    if (!app.done) return 3;
    return app.rejects > 0 ? 2 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "acceptor failed: %s\n", e.what());
    return 1;
  }
}
