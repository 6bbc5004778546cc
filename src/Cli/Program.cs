using ActorCkpt.Cli;

return ActorCkptCli.Run(args);
