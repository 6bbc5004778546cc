using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// TorchSharp state through a checkpoint: a model and its optimizer saved after k steps and loaded
/// into fresh ones continue exactly as the originals do; schedulers, generators, counters, sharded
/// (tensor-parallel) parameters and adapter-only checkpoints come back as saved.
/// </summary>
public sealed class TrainingStateSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string, OptimizerKeys> Optimizers => new()
    {
        { "adam", OptimizerKeys.ByName },
        { "adam", OptimizerKeys.ByIndex },
        { "adamw-amsgrad", OptimizerKeys.ByName },
        { "sgd-momentum", OptimizerKeys.ByIndex },
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public async Task An_optimizer_loaded_after_k_steps_continues_identically(string kind, OptimizerKeys keys)
    {
        using var original = Net(seed: 1);
        using var originalOptimizer = MakeOptimizer(kind, original.parameters());
        Train(original, originalOptimizer, steps: 3, from: 0);
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.SaveAsync(3, 0, 1, new IStateful[] { new ModuleState(original), new OptimizerStateDict(originalOptimizer, original, keys: keys) });
        Train(original, originalOptimizer, steps: 3, from: 3);

        using var resumed = Net(seed: 2);
        using var resumedOptimizer = MakeOptimizer(kind, resumed.parameters());
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.LoadAsync(0, 1, new IStateful[] { new ModuleState(resumed), new OptimizerStateDict(resumedOptimizer, resumed, keys: keys) });
        Train(resumed, resumedOptimizer, steps: 3, from: 3);

        AssertSameParameters(original, resumed);
    }

    [Fact]
    public async Task Optimizer_state_keyed_by_name_survives_a_change_of_parameter_grouping()
    {
        using var original = Net(seed: 1);
        using var originalOptimizer = optim.Adam(original.parameters(), lr: 0.01);
        Train(original, originalOptimizer, steps: 3, from: 0);
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.SaveAsync(3, 0, 1, new IStateful[] { new ModuleState(original), new OptimizerStateDict(originalOptimizer, original) });
        Train(original, originalOptimizer, steps: 3, from: 3);

        // Biases first, then weights, in two groups: every index moves, every name stays.
        using var resumed = Net(seed: 2);
        var named = resumed.named_parameters().ToArray();
        using var regrouped = optim.Adam(new[]
        {
            new Adam.ParamGroup(named.Where(p => p.name.EndsWith("bias")).Select(p => p.parameter), lr: 0.5),
            new Adam.ParamGroup(named.Where(p => !p.name.EndsWith("bias")).Select(p => p.parameter), lr: 0.5),
        });
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.LoadAsync(0, 1, new IStateful[] { new ModuleState(resumed), new OptimizerStateDict(regrouped, resumed) });
        Assert.All(regrouped.ParamGroups, g => Assert.Equal(0.01, g.LearningRate));
        Train(resumed, regrouped, steps: 3, from: 3);

        AssertSameParameters(original, resumed);
    }

    [Fact]
    public async Task Optimizer_state_keyed_by_index_refuses_a_change_of_grouping_by_name()
    {
        using var model = Net(seed: 1);
        using var optimizer = optim.Adam(model.parameters());
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new OptimizerStateDict(optimizer, model, keys: OptimizerKeys.ByIndex) });

        var named = model.named_parameters().ToArray();
        using var regrouped = optim.Adam(new[]
        {
            new Adam.ParamGroup(named.Take(1).Select(p => p.parameter)),
            new Adam.ParamGroup(named.Skip(1).Select(p => p.parameter)),
        });
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.LoadAsync(0, 1, new IStateful[] { new OptimizerStateDict(regrouped, model, keys: OptimizerKeys.ByIndex) }));
        Assert.Contains("OptimizerKeys.ByName", e.Message);
        var wrongType = await Assert.ThrowsAsync<ActorCkptException>(() =>
            ckpt.LoadAsync(0, 1, new IStateful[] { new OptimizerStateDict(optim.SGD(model.parameters(), 0.1), model, keys: OptimizerKeys.ByIndex) }));
        Assert.Contains("state of Adam, not of this SGD", wrongType.Message);
    }

    public static TheoryData<string> Refusals => new() { "optimizer grouping", "optimizer type", "scheduler type" };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_load_a_part_refuses_leaves_the_model_and_the_optimizer_as_they_were(string refusal)
    {
        using var saved = Net(seed: 1);
        using var savedOptimizer = optim.SGD(saved.parameters(), 0.05, momentum: 0.9);
        Train(saved, savedOptimizer, steps: 2, from: 0);
        var savedScheduler = optim.lr_scheduler.StepLR(savedOptimizer, step_size: 3);
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(2, 0, 1, new IStateful[]
        {
            new ModuleState(saved), new OptimizerStateDict(savedOptimizer, saved, keys: OptimizerKeys.ByIndex), new SchedulerState(savedScheduler),
        });

        // A fresh model whose optimizer has made no momentum buffer yet: the load would fill the
        // model and make the buffers, and the part's refusal must come before either.
        using var live = Net(seed: 2);
        using var before = Net(seed: 2);
        var named = live.named_parameters().ToArray();
        using var optimizer = refusal switch
        {
            "optimizer grouping" => optim.SGD(new[]
            {
                new SGD.ParamGroup(named.Take(1).Select(p => p.parameter), lr: 0.05, momentum: 0.9),
                new SGD.ParamGroup(named.Skip(1).Select(p => p.parameter), lr: 0.05, momentum: 0.9),
            }, 0.05),
            "optimizer type" => (OptimizerHelper)optim.Adam(live.parameters(), lr: 0.05),
            _ => optim.SGD(live.parameters(), 0.05, momentum: 0.9),
        };
        var scheduler = refusal == "scheduler type" ? optim.lr_scheduler.ExponentialLR(optimizer, 0.5) : optim.lr_scheduler.StepLR(optimizer, step_size: 3);
        var stateBefore = optimizer.state_dict().State.Select(StateTensors).ToArray();

        var e = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.LoadAsync(0, 1, new IStateful[]
        {
            new ModuleState(live), new OptimizerStateDict(optimizer, live, keys: OptimizerKeys.ByIndex), new SchedulerState(scheduler),
        }));

        Assert.Contains(refusal switch
        {
            "optimizer grouping" => "has groups of [4] parameters, this optimizer [1, 3]",
            "optimizer type" => "is the state of SGD, not of this Adam",
            _ => "is the state of a StepLR, not of this ExponentialLR",
        }, e.Message);
        AssertSameParameters(before, live);
        Assert.Equal(stateBefore, optimizer.state_dict().State.Select(StateTensors).ToArray());
        Assert.Equal(0.05, optimizer.ParamGroups.First().LearningRate);
    }

    /// <summary>An optimizer state's tensor fields, by name, as bytes (null where none is made).</summary>
    private static string StateTensors(OptimizerState state) =>
        string.Join("; ", state.GetType().GetFields().Where(f => f.FieldType == typeof(Tensor)).OrderBy(f => f.Name)
            .Select(f => $"{f.Name}={(f.GetValue(state) is Tensor t ? Convert.ToHexString(t.bytes) : "none")}"));

    private sealed record Progress(int Iteration, string Phase);

    private sealed record Renamed(int Step, string Phase);

    [Fact]
    public async Task A_json_value_that_does_not_read_as_its_type_should_be_refused_naming_the_entry()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new JsonState<Progress>("progress", new Progress(3, "warmup"), ObjectScope.Global) });

        // Before, System.Text.Json's "The JSON value could not be converted to System.Int32. Path: $ …", naming no entry.
        var other = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.LoadAsync(0, 1, new IStateful[] { new JsonState<int>("progress", 0, ObjectScope.Global) }));
        Assert.StartsWith("the entry 'progress' of step 1 does not read as Int32: ", other.Message);
        // Before, it loaded as Renamed { Step = 0 }, Restored = true: a resume from iteration 0.
        var renamed = new JsonState<Renamed>("progress", new Renamed(-1, ""), ObjectScope.Global);
        var field = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.LoadAsync(0, 1, new IStateful[] { renamed }));
        Assert.StartsWith("the entry 'progress' of step 1 does not read as Renamed: ", field.Message);
        Assert.Contains("'Iteration'", field.Message);
        Assert.Equal((new Renamed(-1, ""), false), (renamed.Value, renamed.Restored));

        var same = new JsonState<Progress>("progress", new Progress(0, ""), ObjectScope.Global);
        await ckpt.LoadAsync(0, 1, new IStateful[] { same });
        Assert.Equal(new Progress(3, "warmup"), same.Value);
    }

    [Fact]
    public async Task A_null_part_should_be_refused_naming_its_place()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        using var model = torch.nn.Linear(2, 2);
        // Before, a NullReferenceException naming nothing.
        var save = await Assert.ThrowsAsync<ArgumentException>(() => ckpt.SaveAsync(1, 0, 1, new IStateful[] { new ModuleState(model), null! }));
        Assert.StartsWith("part 1 of the parts given is null: give a module, an optimizer or another IStateful", save.Message);
        await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new ModuleState(model) });
        var load = await Assert.ThrowsAsync<ArgumentException>(() => ckpt.LoadAsync(0, 1, new IStateful[] { null! }));
        Assert.StartsWith("part 0 of the parts given is null", load.Message);
    }

    [Fact]
    public async Task A_momentum_buffer_the_checkpoint_lacks_is_dropped_and_one_it_has_is_made()
    {
        using var fresh = Net(seed: 1);
        using var freshOptimizer = optim.SGD(fresh.parameters(), 0.05, momentum: 0.9, dampening: 0.5);
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(0, 0, 1, new IStateful[] { new ModuleState(fresh), new OptimizerStateDict(freshOptimizer, fresh) });

        // A model that has stepped has momentum buffers; loading step 0 must take them away, or
        // dampening would apply to the first step after the load and the runs would part.
        using var stepped = Net(seed: 2);
        using var steppedOptimizer = optim.SGD(stepped.parameters(), 0.05, momentum: 0.9, dampening: 0.5);
        Train(stepped, steppedOptimizer, steps: 2, from: 0);
        await ckpt.LoadAsync(0, 1, new IStateful[] { new ModuleState(stepped), new OptimizerStateDict(steppedOptimizer, stepped) }, step: 0);
        // One state per parameter (fc1 and fc2, weight and bias), none with a buffer.
        Assert.Equal(new bool[4], steppedOptimizer.state_dict().State.Cast<SGD.State>().Select(s => s.momentum_buffer is not null));
        Train(fresh, freshOptimizer, steps: 2, from: 0);
        Train(stepped, steppedOptimizer, steps: 2, from: 0);
        AssertSameParameters(fresh, stepped);
    }

    [Fact]
    public async Task A_scheduler_continues_its_schedule_after_a_load()
    {
        using var model = Net(seed: 1);
        using var optimizer = optim.SGD(model.parameters(), 1.0);
        var scheduler = optim.lr_scheduler.StepLR(optimizer, step_size: 3, gamma: 0.5);
        for (var i = 0; i < 4; i++) scheduler.step();
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(4, 0, 1, new IStateful[] { new OptimizerStateDict(optimizer, model), new SchedulerState(scheduler) });
        var expected = Enumerable.Range(0, 7).Select(_ => { scheduler.step(); return optimizer.ParamGroups.First().LearningRate; }).ToArray();

        using var otherOptimizer = optim.SGD(model.parameters(), 1.0);
        var other = optim.lr_scheduler.StepLR(otherOptimizer, step_size: 3, gamma: 0.5);
        await ckpt.LoadAsync(0, 1, new IStateful[] { new OptimizerStateDict(otherOptimizer, model), new SchedulerState(other) });
        Assert.Equal(0.5, otherOptimizer.ParamGroups.First().LearningRate);
        var actual = Enumerable.Range(0, 7).Select(_ => { other.step(); return otherOptimizer.ParamGroups.First().LearningRate; }).ToArray();
        Assert.Equal(expected, actual);
        Assert.Contains(actual, lr => lr < 0.5);
    }

    public static TheoryData<string> Schedules => new() { "one-cycle", "sequential", "chained" };

    [Theory]
    [MemberData(nameof(Schedules))]
    public async Task A_one_cycle_or_composite_scheduler_continues_its_schedule_and_momentum_after_a_load(string kind)
    {
        using var model = Net(seed: 1);
        using var optimizer = optim.SGD(model.parameters(), 1.0, momentum: 0.9);
        var scheduler = MakeScheduler(kind, optimizer);
        for (var i = 0; i < 5; i++) scheduler.step();
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(5, 0, 1, new IStateful[] { new OptimizerStateDict(optimizer, model), new SchedulerState(scheduler) });
        var expected = Enumerable.Range(0, 12).Select(_ => { scheduler.step(); return RateAndMomentum(optimizer); }).ToArray();

        using var otherOptimizer = optim.SGD(model.parameters(), 1.0, momentum: 0.9);
        var other = MakeScheduler(kind, otherOptimizer);
        await ckpt.LoadAsync(0, 1, new IStateful[] { new OptimizerStateDict(otherOptimizer, model), new SchedulerState(other) });
        var actual = Enumerable.Range(0, 12).Select(_ => { other.step(); return RateAndMomentum(otherOptimizer); }).ToArray();

        Assert.Equal(expected, actual);
        // The schedule moves over those steps (a state that did not come back would show).
        Assert.True(expected.Distinct().Count() > 3, string.Join(", ", expected));
    }

    [Fact]
    public async Task A_composite_of_other_schedulers_should_be_refused_before_any_of_its_schedulers_changes()
    {
        using var model = Net(seed: 1);
        using var optimizer = optim.SGD(model.parameters(), 1.0, momentum: 0.9);
        var scheduler = MakeScheduler("sequential", optimizer);
        for (var i = 0; i < 5; i++) scheduler.step();
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(5, 0, 1, new IStateful[] { new SchedulerState(scheduler) });

        using var otherOptimizer = optim.SGD(model.parameters(), 1.0, momentum: 0.9);
        var warmup = optim.lr_scheduler.LinearLR(otherOptimizer, start_factor: 0.1, total_iters: 3);
        var other = optim.lr_scheduler.SequentialLR(otherOptimizer, new[] { warmup, optim.lr_scheduler.ExponentialLR(otherOptimizer, 0.9) }, new[] { 3 });
        var before = SchedulerFields.Write(other).ToJsonString();
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.LoadAsync(0, 1, new IStateful[] { new SchedulerState(other) }));

        Assert.Equal("'lr_scheduler' of step 5._schedulers[1] is the state of a StepLR, not of this ExponentialLR", e.Message);
        Assert.Equal(before, SchedulerFields.Write(other).ToJsonString());
    }

    [Fact]
    public async Task A_plateau_scheduler_whose_fields_are_infinite_saves_and_continues_after_a_load()
    {
        // Its mode_worst is always infinite: plain JSON refused to write it, so no save could hold it.
        using var model = Net(seed: 1);
        using var optimizer = optim.SGD(model.parameters(), 1.0);
        var scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience: 1);
        scheduler.step(5.0);
        scheduler.step(5.0);
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await ckpt.SaveAsync(2, 0, 1, new IStateful[] { new OptimizerStateDict(optimizer, model), new SchedulerState(scheduler) });
        var metrics = new[] { 5.0, 5.0, 4.0, 4.0, 4.0, 4.0 };
        var expected = metrics.Select(m => { scheduler.step(m); return optimizer.ParamGroups.First().LearningRate; }).ToArray();

        using var otherOptimizer = optim.SGD(model.parameters(), 1.0);
        var other = optim.lr_scheduler.ReduceLROnPlateau(otherOptimizer, patience: 1);
        await ckpt.LoadAsync(0, 1, new IStateful[] { new OptimizerStateDict(otherOptimizer, model), new SchedulerState(other) });
        var actual = metrics.Select(m => { other.step(m); return otherOptimizer.ParamGroups.First().LearningRate; }).ToArray();

        Assert.Equal(expected, actual);
        Assert.Contains(actual, lr => lr < 1.0);
    }

    [Fact]
    public async Task Generators_counters_and_host_rng_come_back_per_rank_and_a_new_rank_keeps_its_own()
    {
        var generators = Enumerable.Range(0, 2).Select(r => new Generator((ulong)(10 + r), CPU)).ToArray();
        var hosts = Enumerable.Range(0, 2).Select(r => new HostRandom((ulong)(20 + r))).ToArray();
        foreach (var h in hosts) h.NextUInt64();
        var progress = new TrainingProgress(7, 224, 1.5e9);
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await Task.WhenAll(Enumerable.Range(0, 2).Select(r => ckpt.SaveAsync(7, r, 2, new IStateful[]
        {
            new GeneratorState(generators[r], "rng.torch"),
            new JsonState<ulong[]>("rng.host", hosts[r].State, ObjectScope.Rank),
            new JsonState<TrainingProgress>("trainer.progress", progress, ObjectScope.Global),
        })));
        using var expected0 = rand(new long[] { 4 }, generator: generators[0]);
        var expectedHost0 = hosts[0].NextUInt64();

        var loaded = Enumerable.Range(0, 3).Select(r => (
            Generator: new Generator(99, CPU),
            Host: new JsonState<ulong[]>("rng.host", new HostRandom(99).State, ObjectScope.Rank),
            Progress: new JsonState<TrainingProgress>("trainer.progress", TrainingProgress.Start, ObjectScope.Global))).ToArray();
        var parts = loaded.Select(l => new IStateful[] { new GeneratorState(l.Generator, "rng.torch"), l.Host, l.Progress }).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(r => ckpt.LoadAsync(r, 3, parts[r])));

        using var actual0 = rand(new long[] { 4 }, generator: loaded[0].Generator);
        Assert.Equal(expected0.data<float>().ToArray(), actual0.data<float>().ToArray());
        Assert.Equal(expectedHost0, new HostRandom(1) { State = loaded[0].Host.Value }.NextUInt64());
        Assert.All(loaded, l => Assert.Equal(progress, l.Progress.Value));
        Assert.True(((GeneratorState)parts[1][0]).Restored);
        Assert.False(((GeneratorState)parts[2][0]).Restored);
        Assert.False(loaded[2].Host.Restored);
    }

    [Fact]
    public async Task A_tensor_parallel_parameter_saved_on_two_ranks_loads_resharded_on_three()
    {
        using var whole = nn.Linear(4, 6);
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await Task.WhenAll(Enumerable.Range(0, 2).Select(r =>
        {
            var (spec, rows) = ShardSpec.Even(0, 6, r, 2);
            var part = nn.Linear(4, rows);
            using (no_grad())
            {
                part.weight!.copy_(whole.weight!.narrow(0, spec.Offset, rows));
                part.bias!.copy_(whole.bias!.narrow(0, spec.Offset, rows));
            }
            return ckpt.SaveAsync(1, r, 2, new IStateful[] { new ModuleState(part, "tp", new Dictionary<string, ShardSpec> { ["weight"] = spec, ["bias"] = spec }) });
        }));

        var parts = Enumerable.Range(0, 3).Select(r => (ShardSpec.Even(0, 6, r, 3), nn.Linear(4, ShardSpec.Even(0, 6, r, 3).Length))).ToArray();
        await Task.WhenAll(parts.Select((p, r) => ckpt.LoadAsync(r, 3, new IStateful[]
        {
            new ModuleState(p.Item2, "tp", new Dictionary<string, ShardSpec> { ["weight"] = p.Item1.Spec, ["bias"] = p.Item1.Spec }),
        })));
        foreach (var ((spec, rows), part) in parts)
        {
            using var expected = whole.weight!.narrow(0, spec.Offset, rows);
            Assert.Equal(expected.data<float>().ToArray(), part.weight!.data<float>().ToArray());
            part.Dispose();
        }
        Assert.Throws<ArgumentException>(() => new ModuleState(whole, "tp", new Dictionary<string, ShardSpec> { ["weights"] = new(0, 0, 6) }));
    }

    [Fact]
    public async Task An_adapter_only_checkpoint_holds_the_adapters_and_loads_them_over_a_base_from_elsewhere()
    {
        var adapters = KeyFilter.Glob("*.lora_A.*", "*.lora_B.*");
        using var tuned = LoraNet(seed: 1);
        var baseDir = Path.Combine(_temp.Path, "base");
        var adapterDir = Path.Combine(_temp.Path, "adapters");
        await using (var ckpt = Checkpointer.Start(baseDir))
            await ckpt.SaveAsync(0, 0, 1, new IStateful[] { new ModuleState(tuned, include: n => !adapters(n)) });
        using (no_grad())
            foreach (var (name, p) in tuned.named_parameters().Where(p => adapters(p.name))) p.add_(1.0);
        await using (var ckpt = Checkpointer.Start(adapterDir))
            await ckpt.SaveAsync(5, 0, 1, new IStateful[] { new ModuleState(tuned, include: adapters) });

        var saved = CheckpointReader.Open(adapterDir).ReadMetadata().Tensors.Keys.Order().ToArray();
        Assert.Equal(new[] { "model.layer.lora_A.weight", "model.layer.lora_B.weight" }, saved);

        using var restored = LoraNet(seed: 2);
        await using (var ckpt = Checkpointer.Start(baseDir))
            await ckpt.LoadAsync(0, 1, new IStateful[] { new ModuleState(restored, include: n => !adapters(n)) });
        await using (var ckpt = Checkpointer.Start(adapterDir))
            await ckpt.LoadAsync(0, 1, new IStateful[] { new ModuleState(restored, include: adapters) });
        AssertSameParameters(tuned, restored);
    }

    private static nn.Module Net(int seed)
    {
        manual_seed(seed);
        return nn.Sequential(("fc1", nn.Linear(3, 5)), ("act", nn.Tanh()), ("fc2", nn.Linear(5, 2)));
    }

    private static nn.Module LoraNet(int seed)
    {
        manual_seed(seed);
        var layer = nn.Sequential(("base", nn.Linear(4, 4)), ("lora_A", nn.Linear(4, 2, hasBias: false)), ("lora_B", nn.Linear(2, 4, hasBias: false)));
        return nn.Sequential(("layer", layer));
    }

    private static OptimizerHelper MakeOptimizer(string kind, IEnumerable<Parameter> parameters) => kind switch
    {
        "adam" => optim.Adam(parameters, lr: 0.01, weight_decay: 0.001),
        "adamw-amsgrad" => optim.AdamW(parameters, lr: 0.01, amsgrad: true),
        "sgd-momentum" => optim.SGD(parameters, 0.05, momentum: 0.9, dampening: 0.1, nesterov: false),
        _ => throw new ArgumentException(kind),
    };

    private static optim.lr_scheduler.LRScheduler MakeScheduler(string kind, OptimizerHelper optimizer) => kind switch
    {
        "one-cycle" => optim.lr_scheduler.OneCycleLR(optimizer, max_lr: 1.0, total_steps: 20),
        "sequential" => optim.lr_scheduler.SequentialLR(optimizer,
            new[] { optim.lr_scheduler.LinearLR(optimizer, start_factor: 0.1, total_iters: 3), optim.lr_scheduler.StepLR(optimizer, step_size: 2, gamma: 0.5) }, new[] { 3 }),
        "chained" => optim.lr_scheduler.ChainedLR(new[] { optim.lr_scheduler.StepLR(optimizer, step_size: 4, gamma: 0.5), optim.lr_scheduler.ExponentialLR(optimizer, 0.9) }),
        _ => throw new ArgumentException(kind),
    };

    private static (double Rate, double Momentum) RateAndMomentum(OptimizerHelper optimizer)
    {
        var group = optimizer.ParamGroups.First();
        return (group.LearningRate, ((optim.IMomentum)group).Momentum);
    }

    /// <summary>Steps of plain regression on inputs that depend only on the step number.</summary>
    private static void Train(nn.Module model, OptimizerHelper optimizer, int steps, int from)
    {
        for (var step = from; step < from + steps; step++)
        {
            using var scope = NewDisposeScope();
            var x = linspace(-1 - step, 1 + step, 12).reshape(4, 3);
            var y = x.sum(1, keepdim: true).sin().expand(4, 2);
            var output = ((nn.Module<Tensor, Tensor>)model).forward(x);
            optimizer.zero_grad();
            output.sub(y).square().mean().backward();
            optimizer.step();
        }
    }

    private static void AssertSameParameters(nn.Module expected, nn.Module actual)
    {
        var a = actual.state_dict();
        foreach (var (name, t) in expected.state_dict())
            Assert.True(t.bytes.SequenceEqual(a[name].bytes), $"'{name}' differs");
    }
}
