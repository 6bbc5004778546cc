using ActorCkpt.Host.Cli;

return ActorCkptCli.Run(args);
