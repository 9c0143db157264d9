// Two agents in one program: "greeter" serves a method, "visitor" discovers it and calls it.
// Needs a NATS broker: `nats-server &` then `build/examples/hello_agents`
// (or set STARGATE_NATS_URL). Identities go to temporary directories.
#include <stargate/node.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <iostream>

namespace asio = boost::asio;
namespace json = boost::json;

asio::awaitable<void> run(asio::io_context& io) {
  auto home = std::filesystem::temp_directory_path() / "stargate-hello";

  stargate::NodeOptions greeter_options;
  greeter_options.display_name = "greeter";
  greeter_options.capabilities = {"greetings"};
  greeter_options.identity_dir = home / "greeter";
  stargate::StarGateNode greeter(io.get_executor(), greeter_options);
  // Handlers are coroutines; CallContext says who called (authenticated end to end).
  greeter.handle("greet", [](const json::value& params, const stargate::CallContext& caller) -> asio::awaitable<json::value> {
    if (!params.is_object() || !params.as_object().contains("name"))
      throw stargate::CallError(-32602, "params need a \"name\"");
    co_return json::object{{"greeting", "hello, " + std::string(params.at("name").as_string())},
                           {"caller", caller.caller_agent_id}};
  });

  stargate::NodeOptions visitor_options;
  visitor_options.display_name = "visitor";
  visitor_options.identity_dir = home / "visitor";
  stargate::StarGateNode visitor(io.get_executor(), visitor_options);

  co_await greeter.start();
  co_await visitor.start();
  for (const auto& peer : co_await visitor.discover(std::string("greetings")))
    std::cout << "found " << peer.name << " (" << peer.agent_id << ")\n";

  json::value params = json::object{{"name", "world"}};
  auto result = co_await visitor.call("greeter", "greet", params);
  std::cout << json::serialize(result) << "\n";

  co_await visitor.stop();
  co_await greeter.stop();
}

int main() {
  asio::io_context io;
  int status = 0;
  asio::co_spawn(io, run(io), [&](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::cerr << "hello_agents: " << e.what() << "\n";
      status = 1;
    }
  });
  io.run();
  return status;
}
