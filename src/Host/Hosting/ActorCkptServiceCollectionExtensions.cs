using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ActorCkpt.Hosting;

/// <summary>Registers ActorCkpt with a generic host (Microsoft.Extensions.Hosting).</summary>
public static class ActorCkptServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="ICheckpointer"/> of a host whose ActorSystem runs ActorCkpt
    /// (<see cref="ActorCkptAkkaHostingExtensions.WithActorCkpt(AkkaConfigurationBuilder, Action{ActorCkptOptions})"/>
    /// in its <c>AddAkka</c>). It can be injected at once, into a <c>BackgroundService</c> for
    /// instance: a call made before the ActorSystem is up waits for it (bounded by the call's
    /// CancellationToken), and fails with the error if ActorCkpt fails to start, or saying so if the
    /// host has started without starting ActorCkpt (no <c>WithActorCkpt</c> in its <c>AddAkka</c>).
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddAkka("train", (akka, sp) => akka
    ///     .WithRemoting("127.0.0.1", port)
    ///     .WithClustering(new ClusterOptions { Roles = ["rank", "writer", "planner"], SeedNodes = [seed] })
    ///     .WithActorCkpt(o => o.Root = "/checkpoints/run1"));
    /// services.AddActorCkptCheckpointer();
    /// services.AddHostedService&lt;Trainer&gt;();   // takes an ICheckpointer
    /// </code>
    /// </example>
    public static IServiceCollection AddActorCkptCheckpointer(this IServiceCollection services)
    {
        services.TryAddSingleton<DeferredCheckpointer>();
        services.TryAddSingleton<ICheckpointer>(sp => sp.GetRequiredService<DeferredCheckpointer>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, HostLifetimeWatch>());
        return services;
    }

    /// <summary>
    /// For a host without an ActorSystem of its own: runs ActorCkpt in one it starts and stops with
    /// the host (Akka.Hosting's <c>AddAkka</c> with <c>WithActorCkpt</c>, a one-process actor system
    /// named <c>actorckpt</c>), configured from <paramref name="section"/> (see
    /// <see cref="ActorCkptOptions"/>) and then <paramref name="configure"/>, and registers
    /// <see cref="ICheckpointer"/>. A host that runs Akka.NET already adds <c>WithActorCkpt</c> to
    /// its own <c>AddAkka</c> instead; called after such an <c>AddAkka</c> this throws saying so.
    /// </summary>
    /// <example>
    /// <code>
    /// // appsettings.json: "ActorCkpt": { "Root": "/checkpoints/run1", "Settings": { "retention.keep-last": "3" } }
    /// builder.Services.AddActorCkpt(builder.Configuration.GetSection("ActorCkpt"));
    /// </code>
    /// </example>
    public static IServiceCollection AddActorCkpt(this IServiceCollection services, IConfiguration? section = null, Action<ActorCkptOptions>? configure = null) =>
        AddActorCkptUnder(services, section, configure, underOptions: null);

    /// <summary>
    /// <see cref="AddActorCkpt(IServiceCollection, IConfiguration?, Action{ActorCkptOptions}?)"/> with
    /// <paramref name="underOptions"/>, HOCON under everything the options say and over the defaults (the
    /// tool's own logger: a user's configuration that names its loggers still wins).
    /// </summary>
    internal static IServiceCollection AddActorCkptUnder(IServiceCollection services, IConfiguration? section, Action<ActorCkptOptions>? configure, string? underOptions)
    {
        if (services.Any(d => d.ServiceType == typeof(AddedByAddActorCkpt)))
            throw new InvalidOperationException("AddActorCkpt was called already for this host: a host runs one ActorCkpt; set all its options in that one call");
        // A second AddAkka would take the place of the host's own ActorSystem, its actors gone without a word.
        if (services.Any(d => d.ServiceType == typeof(Akka.Actor.ActorSystem)))
            throw new InvalidOperationException("this host already runs an ActorSystem (AddAkka): add ActorCkpt to it with WithActorCkpt inside that AddAkka, and AddActorCkptCheckpointer()");
        services.AddSingleton(new AddedByAddActorCkpt());
        var options = services.AddOptions<ActorCkptOptions>();
        if (section is not null) options.Configure(o => OptionsSection.Bind(section, o));
        if (configure is not null) options.Configure(configure);
        services.AddActorCkptCheckpointer();
        services.AddAkka(CheckpointerConfig.SystemName, (akka, sp) =>
        {
            try
            {
                if (section is not null && OptionsSection.Problem(section, typeof(ActorCkptOptions)) is { } unbound)
                    throw new ArgumentException(unbound);
                // A one-process node's defaults (quiet log, local provider) under what the options say.
                if (underOptions is not null) akka.AddHocon(underOptions, HoconAddMode.Append);
                akka.AddHocon(NodeConfig.Node, HoconAddMode.Append)
                    .WithActorCkpt(sp.GetRequiredService<IOptions<ActorCkptOptions>>().Value);
            }
            catch (Exception e)
            {
                // Calls already waiting fail with the reason rather than when the host is disposed.
                sp.GetRequiredService<DeferredCheckpointer>().SetFailed(e);
                throw;
            }
        });
        return services;
    }
}
