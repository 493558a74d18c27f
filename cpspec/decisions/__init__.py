"""Agent worlds and optimal decisions: MDPs and their unrolled diagrams (``mdp``),
optimal policies by backward induction, policy iteration and closed forms (``solving``),
and general influence diagrams (``influence``)."""
