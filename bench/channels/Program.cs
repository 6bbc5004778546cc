using ChannelBench;

// Roles: `receive` and `send` are the two ends of one candidate, each in its own process;
// `compare` is the driver that starts both for every run and prints the table and a JSON line.
try
{
    var args0 = Args.Parse(args);
    return args0.Command switch
    {
        "receive" => await Roles.ReceiveAsync(args0),
        "send" => await Roles.SendAsync(args0),
        "compare" => await Driver.CompareAsync(args0),
        "selftest" => await Driver.SelfTestAsync(args0),
        _ => Usage(),
    };
}
catch (ArgumentException e) when (e.TargetSite?.DeclaringType?.Namespace == "ChannelBench")
{
    Console.Error.WriteLine(e.Message);
    return Usage();
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          ChannelBench compare [--sizes-mb 256,1024] [--rounds 3] [--candidates tcp,pipes,socket,akka,grpc,grpc-pooled]
                               [--max-load 2] [--quiet-wait-s 900] [--out results.json] [--no-iperf3]
          ChannelBench selftest [--candidates ...]   odd sizes verified, a bad frame checksum refused
          ChannelBench receive --port P --candidate X --bytes N [--transfers 2]
          ChannelBench send    --port P --candidate X --bytes N [--frame-mb 1] [--warmup-mb 64] [--corrupt-frame-at OFFSET]
        candidates: tcp (plain TCP copy, the baseline), pipes (sockets + System.IO.Pipelines reader),
                    socket (sockets, payload received in place), akka (Akka.Streams TCP), grpc (gRPC h2c,
                    generated code), grpc-pooled (gRPC h2c, request parser into pooled buffers);
                    NAME@K runs NAME with frames of K MiB (default 1).
        """);
    return 2;
}
