using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ActorCkpt.Hosting;

/// <summary>Registers ActorCkpt with a generic host (Microsoft.Extensions.Hosting).</summary>
public static class ActorCkptServiceCollectionExtensions
{
    /// <summary>
    /// Starts an ActorCkpt node with the host, configured from <paramref name="section"/> (see
    /// <see cref="ActorCkptHostOptions"/>) and then <paramref name="configure"/>, and makes
    /// <see cref="ICheckpointer"/> available by dependency injection.
    /// </summary>
    public static IServiceCollection AddActorCkpt(this IServiceCollection services, IConfiguration? section = null, Action<ActorCkptHostOptions>? configure = null)
    {
        var options = services.AddOptions<ActorCkptHostOptions>();
        if (section is not null) options.Bind(section);
        if (configure is not null) options.Configure(configure);
        services.AddSingleton<HostedCheckpointer>();
        services.AddSingleton<ICheckpointer>(sp => sp.GetRequiredService<HostedCheckpointer>());
        services.AddHostedService(sp => sp.GetRequiredService<HostedCheckpointer>());
        return services;
    }
}
