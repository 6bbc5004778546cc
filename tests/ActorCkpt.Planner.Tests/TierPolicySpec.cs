namespace ActorCkpt.Planner.Tests;

/// <summary>Which round a save runs, per requested tier, step number and policy.</summary>
public class TierPolicySpec
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(10L)]
    public void With_the_tier_off_every_policy_or_disk_save_should_go_to_disk(long step)
    {
        var policy = new TierPolicy(false, 5);
        Assert.Null(policy.Problem(SaveTier.Policy));
        Assert.Null(policy.Problem(SaveTier.Disk));
        Assert.Equal(new TierChoice(StorageTier.Disk, false), policy.Choose(step, SaveTier.Policy));
        Assert.Equal(new TierChoice(StorageTier.Disk, false), policy.Choose(step, SaveTier.Disk));
        Assert.Equal(policy.Choose(step, SaveTier.Policy), TierPolicy.DiskOnly.Choose(step, SaveTier.Policy));
    }

    [Theory]
    [InlineData(nameof(SaveTier.Memory), "a save to the memory tier (Memory) needs actorckpt.tiers.memory.enabled = on; it is off")]
    [InlineData(nameof(SaveTier.MemoryAndDisk), "a save to the memory tier (MemoryAndDisk) needs actorckpt.tiers.memory.enabled = on; it is off")]
    public void With_the_tier_off_a_memory_request_should_get_a_problem_naming_the_key(string tier, string problem)
    {
        var requested = Enum.Parse<SaveTier>(tier);
        var policy = new TierPolicy(false, 5);
        Assert.Equal(problem, policy.Problem(requested));
        Assert.Equal(problem + " (Parameter 'requested')", Assert.Throws<ArgumentException>(() => policy.Choose(3, requested)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_tier_that_names_no_member_should_be_a_problem_the_planner_refuses_with_not_a_crash(bool memory)
    {
        // A plan that reaches the planner anyway (a remote rank of another build) is aborted with this line.
        var policy = new TierPolicy(memory, 5);
        Assert.Equal("save tier 99 is not one of policy, memory, disk, memory-and-disk", policy.Problem((SaveTier)99));
        Assert.Equal("save tier -1 is not one of policy, memory, disk, memory-and-disk", policy.Problem((SaveTier)(-1)));
    }

    [Fact]
    public void Every_5_should_send_steps_1_to_4_to_memory_only_and_multiples_of_5_to_memory_then_disk()
    {
        var policy = new TierPolicy(true, 5);
        foreach (var step in new long[] { 1, 2, 3, 4, 6, 9, 11 }) Assert.Equal(new TierChoice(StorageTier.Memory, false), policy.Choose(step, SaveTier.Policy));
        foreach (var step in new long[] { 0, 5, 10, 15 }) Assert.Equal(new TierChoice(StorageTier.Memory, true), policy.Choose(step, SaveTier.Policy));
    }

    [Fact]
    public void Memory_steps_due_for_the_object_tier_should_also_be_persisted_as_uploads_copy_from_disk()
    {
        var policy = new TierPolicy(true, 10, UploadEvery: 4);
        foreach (var step in new long[] { 1, 2, 3, 5, 6, 7, 9 }) Assert.Equal(new TierChoice(StorageTier.Memory, false), policy.Choose(step, SaveTier.Policy));
        foreach (var step in new long[] { 4, 8, 10, 12, 20 }) Assert.Equal(new TierChoice(StorageTier.Memory, true), policy.Choose(step, SaveTier.Policy));
        Assert.Equal(new TierChoice(StorageTier.Memory, false), policy.Choose(8, SaveTier.Memory));
    }

    [Fact]
    public void Every_0_should_persist_only_memory_and_disk_requests()
    {
        var policy = new TierPolicy(true, 0);
        foreach (var step in new long[] { 0, 1, 5, 10 })
        {
            Assert.Equal(new TierChoice(StorageTier.Memory, false), policy.Choose(step, SaveTier.Policy));
            Assert.Equal(new TierChoice(StorageTier.Memory, false), policy.Choose(step, SaveTier.Memory));
            Assert.Equal(new TierChoice(StorageTier.Memory, true), policy.Choose(step, SaveTier.MemoryAndDisk));
        }
    }

    [Fact]
    public void Explicit_requests_should_override_the_step_number()
    {
        var policy = new TierPolicy(true, 5);
        Assert.Equal(new TierChoice(StorageTier.Memory, false), policy.Choose(5, SaveTier.Memory));
        Assert.Equal(new TierChoice(StorageTier.Memory, true), policy.Choose(3, SaveTier.MemoryAndDisk));
        Assert.Null(policy.Problem(SaveTier.Memory));
        Assert.Null(policy.Problem(SaveTier.MemoryAndDisk));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(4L)]
    [InlineData(5L)]
    public void Disk_should_go_straight_to_disk_even_with_memory_on(long step)
    {
        Assert.Equal(new TierChoice(StorageTier.Disk, false), new TierPolicy(true, 5).Choose(step, SaveTier.Disk));
    }

    [Fact]
    public void A_negative_every_should_throw_naming_the_key()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TierPolicy(true, -1));
        Assert.StartsWith("actorckpt.tiers.disk.every is -1; it must be 0 (only on request) or more", e.Message);
    }

    [Fact]
    public void A_negative_step_should_throw()
    {
        Assert.Equal("step -1 is negative (Parameter 'step')", Assert.Throws<ArgumentOutOfRangeException>(() => new TierPolicy(true, 5).Choose(-1, SaveTier.Policy)).Message);
    }
}
