using CausalKv.Cli;

return await Ckv.RunAsync(args, Console.Out, Console.Error);
