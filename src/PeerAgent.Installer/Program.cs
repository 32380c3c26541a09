using PeerAgent.Installer;

return InstallerCli.Run(args, Console.Out, Console.Error);
