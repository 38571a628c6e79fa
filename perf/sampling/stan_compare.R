# Stan's side of perf/sampling/stan_compare.sh: NUTS on the targets 08_hmc and BM_Hmc_Gauss100 sample, one chain
# per core, Stan's defaults (1000 warm-up + 1000 draws). Prints, per target, the smallest bulk ESS over the
# parameters, the seconds of sampling (Stan's own timer, warm-up included, the slowest chain: the chains run in
# parallel; neither compilation nor starting the worker processes counts) and their ratio.
# Usage: Rscript stan_compare.R [cores]   (Debian: apt-get install r-cran-rstan)
suppressMessages(library(rstan))
args <- commandArgs(trailingOnly = TRUE)
cores <- if (length(args) > 0) as.integer(args[1]) else 2L
# Compiled models are kept (rstan's .rds beside each .stan file) and reused while their code is unchanged.
rstan_options(auto_write = TRUE)
cache <- file.path(Sys.getenv("XDG_CACHE_HOME", file.path(Sys.getenv("HOME"), ".cache")), "nabla", "stan")
dir.create(cache, recursive = TRUE, showWarnings = FALSE)
# Debian's r-cran-bh is an empty shell (Boost comes from libboost-dev); rstan looks for BH's headers.
if (!nzchar(system.file("include", package = "BH"))) rstan_options(boost_lib = "/usr/include")

eight_schools <- "
data { int<lower=0> J; real y[J]; real<lower=0> sigma[J]; }
parameters { real mu; real<lower=0> tau; vector[J] z; }
transformed parameters { vector[J] theta = mu + tau * z; }
model { mu ~ normal(0, 5); tau ~ cauchy(0, 5); z ~ normal(0, 1); y ~ normal(theta, sigma); }
"
gaussian <- "
data { int<lower=1> D; }
transformed data { vector[D] s; for (i in 1:D) s[i] = 10^(-(i - 1.0) / (D - 1)); }
parameters { vector[D] x; }
model { x ~ normal(0, s); }
"
run <- function(name, code, data, pars) {
  file <- file.path(cache, paste0(name, ".stan"))
  if (!file.exists(file) || !identical(paste(readLines(file), collapse = "\n"), code)) writeLines(code, file)
  model <- stan_model(file = file, model_name = name)
  fit <- sampling(model, data = data, chains = cores, cores = cores, iter = 2000, warmup = 1000, seed = 1,
                  refresh = 0)
  elapsed <- max(rowSums(get_elapsed_time(fit)))
  draws <- as.array(fit, pars = pars)
  ess <- min(apply(draws, 3, ess_bulk))
  divergent <- sum(sapply(get_sampler_params(fit, inc_warmup = FALSE), function(p) sum(p[, "divergent__"])))
  cat(sprintf("stan %s chains %d ess_bulk_min %.1f seconds %.3f ess_per_second %.1f divergent %d\n", name, cores,
              ess, elapsed, ess / elapsed, divergent))
}
run("eight_schools", eight_schools,
    list(J = 8, y = c(28, 8, -3, 7, -1, 1, 18, 12), sigma = c(15, 10, 16, 11, 9, 11, 10, 18)),
    c("mu", "tau", "theta"))
run("gaussian100", gaussian, list(D = 100), "x")
