namespace ActorCkpt;

/// <summary>A writer's report on one item it wrote.</summary>
/// <param name="StorageName">The item's name in the data file (<see cref="WriteItem.StorageName"/>).</param>
/// <param name="Bytes">Where its bytes are and their checksums.</param>
internal sealed record WrittenItem(string StorageName, StoredBytes Bytes);
