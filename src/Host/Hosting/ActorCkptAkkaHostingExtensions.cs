using System.Runtime.ExceptionServices;
using Akka.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorCkpt.Hosting;

/// <summary>Runs ActorCkpt inside a host's own ActorSystem (Akka.Hosting).</summary>
public static class ActorCkptAkkaHostingExtensions
{
    // The builders ActorCkpt was added to: a second WithActorCkpt would start a second planner under the same name.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<AkkaConfigurationBuilder, object> Added = new();

    /// <summary>
    /// Runs ActorCkpt in this ActorSystem, configured by <paramref name="configure"/>. See
    /// <see cref="WithActorCkpt(AkkaConfigurationBuilder, ActorCkptOptions)"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorCkpt(this AkkaConfigurationBuilder builder, Action<ActorCkptOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ActorCkptOptions();
        configure(options);
        return builder.WithActorCkpt(options);
    }

    /// <summary>
    /// Runs ActorCkpt in this ActorSystem, configured from <paramref name="section"/> as
    /// <see cref="ActorCkptServiceCollectionExtensions.AddActorCkpt"/> binds it (<c>Settings</c> nested
    /// or flat; a key no option has, or a value that does not convert, fails the start naming it) and
    /// then by <paramref name="configure"/>. Binding the section yourself (<c>o => section.Bind(o)</c>)
    /// passes over nested <c>Settings</c> and misspelt keys without a word. See
    /// <see cref="WithActorCkpt(AkkaConfigurationBuilder, ActorCkptOptions)"/>.
    /// </summary>
    /// <example>
    /// <code>
    /// builder.Services.AddAkka("trainhost", (akka, sp) => akka.WithActorCkpt(builder.Configuration.GetSection("ActorCkpt")));
    /// builder.Services.AddActorCkptCheckpointer();
    /// </code>
    /// </example>
    public static AkkaConfigurationBuilder WithActorCkpt(this AkkaConfigurationBuilder builder, Microsoft.Extensions.Configuration.IConfiguration section,
        Action<ActorCkptOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        var options = new ActorCkptOptions();
        var unbound = OptionsSection.Problem(section, typeof(ActorCkptOptions));
        if (unbound is null) OptionsSection.Bind(section, options);
        configure?.Invoke(options);
        return builder.WithActorCkpt(options, unbound is null ? null : new ArgumentException(unbound));
    }

    /// <summary>
    /// Runs ActorCkpt in this ActorSystem as <paramref name="options"/> say. ActorCkpt's defaults lie
    /// under the host's configuration: its settings, and on a cluster (<c>WithClustering</c>) the
    /// shipped roles (rank, writer, planner), split-brain resolver, failure detector and planner
    /// singleton wherever the host sets none (before this call, or after it with
    /// <c>HoconAddMode.Prepend</c>: HOCON appended after it is a fallback and lies under them). The catalog is journaled through
    /// Akka.Persistence.Sql under ActorCkpt's own plugin ids (the host's default journal is left
    /// alone), and Akka's log goes to the host's ILogger unless the host chose its loggers
    /// (<c>ConfigureLoggers</c>). Once the system is up, ActorCkpt's actors start (on a cluster
    /// node, by its roles) and the <see cref="ICheckpointer"/> that
    /// <see cref="ActorCkptServiceCollectionExtensions.AddActorCkptCheckpointer"/> registered is
    /// ready; a stopping host waits for the saves in flight before the system terminates.
    /// Options that are wrong fail the host's start naming what is wrong, and so do the
    /// <see cref="ICheckpointer"/> calls waiting for the start.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorCkpt(this AkkaConfigurationBuilder builder, ActorCkptOptions options) => builder.WithActorCkpt(options, refusal: null);

    /// <summary><see cref="WithActorCkpt(AkkaConfigurationBuilder, ActorCkptOptions)"/>, failing the start with <paramref name="refusal"/> when given (options that did not bind).</summary>
    private static AkkaConfigurationBuilder WithActorCkpt(this AkkaConfigurationBuilder builder, ActorCkptOptions options, Exception? refusal)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (Added.TryGetValue(builder, out _))
            throw new InvalidOperationException("WithActorCkpt was called twice on this AddAkka: an ActorSystem runs one ActorCkpt; configure it in one call");
        // Options refused here are thrown as ActorCkpt starts, where the host's services are at hand:
        // thrown now, they would fail the host's start before the calls waiting could be told why.
        var refused = refusal is null ? null : ExceptionDispatchInfo.Capture(refusal);
        try
        {
            if (refused is null) HostingConfig.Apply(builder, options);
        }
        catch (Exception e)
        {
            refused = ExceptionDispatchInfo.Capture(e);
        }
        Added.Add(builder, options);
        var root = options.Root;
        var wrapStore = options.WrapStore;
        return builder.WithActors((system, _, resolver) =>
        {
            var deferred = resolver.GetService<DeferredCheckpointer>();
            if (refused is not null)
            {
                deferred?.SetFailed(refused.SourceException);
                refused.Throw();
            }
            if (deferred is null)
                throw new InvalidOperationException(
                    "WithActorCkpt: ICheckpointer is not registered with the host's services: call services.AddActorCkptCheckpointer() beside services.AddAkka(...)");
            CheckpointerStartup.Start(system, root, deferred, wrapStore, resolver.GetService<ILoggerFactory>());
        });
    }
}
