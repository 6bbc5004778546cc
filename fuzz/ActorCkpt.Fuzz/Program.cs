using ActorCkpt.Fuzz;
using SharpFuzz;

// ActorCkpt.Fuzz: the fuzzing harnesses of the parsers that read untrusted files (see fuzz/run.sh).
//   ActorCkpt.Fuzz TARGET               run TARGET under afl-fuzz (SharpFuzz's fork-server loop)
//   ActorCkpt.Fuzz replay TARGET PATH.. feed each file (folders: every file in them) once; exit 1 on a crash
//   ActorCkpt.Fuzz seed DIR REFERENCE   (re)write the seed corpus under DIR from the project's own writers
const string usage = """
    usage: ActorCkpt.Fuzz TARGET | replay TARGET PATH... | seed DIR REFERENCE_CONF
    targets:
    """;
string Targets() => string.Join(", ", FuzzTarget.All.Keys);

switch (args)
{
    case ["seed", var dir, var reference]:
        SeedCorpus.Write(dir, File.ReadAllText(reference));
        return 0;
    case ["replay", var name, .. var paths] when FuzzTarget.All.TryGetValue(name, out var target):
        var crashes = 0;
        foreach (var file in paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p, "*", SearchOption.AllDirectories).Order().ToArray() : new[] { p }))
        {
            try
            {
                Console.WriteLine($"{(target.Run(File.ReadAllBytes(file)) ? "accepted" : "refused")}  {file}");
            }
            catch (Exception e)
            {
                crashes++;
                Console.WriteLine($"CRASH     {file}\n{e}");
            }
        }
        return crashes == 0 ? 0 : 1;
    case [var name] when FuzzTarget.All.TryGetValue(name, out var target):
        Fuzzer.OutOfProcess.Run(stream =>
        {
            // afl-fuzz hands each input as a stream; a bounded copy of it is what the target sees.
            using var input = new MemoryStream();
            stream.CopyTo(input);
            target.Run(input.GetBuffer().AsSpan(0, (int)input.Length));
        });
        return 0;
    default:
        Console.Error.WriteLine(usage + " " + Targets());
        return 2;
}
