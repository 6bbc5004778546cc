namespace ActorCkpt.Hosting;

/// <summary>Marks a service collection <see cref="ActorCkptServiceCollectionExtensions.AddActorCkpt"/> was called on, so that a second call is named for what it is.</summary>
internal sealed class AddedByAddActorCkpt;
